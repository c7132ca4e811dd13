// Progress: a one-line progress bar on stderr for a long transfer (file-client, http-client).
//
// Shown only when stderr is a terminal and the transfer is above 1 MiB: a script's log or a
// small file gets no bar. A transfer of unknown size (a chunked HTTP body) shows the bytes
// received so far instead, once they pass 1 MiB.
#pragma once

#include <cstdint>
#include <optional>

namespace sockserv {

class Progress {
 public:
  /// `done` bytes of `total` are already there (a resumed download); total unknown: nullopt.
  Progress(uint64_t done, std::optional<uint64_t> total);
  /// Ends the bar's line (finish()), so that an error message after a failed transfer
  /// starts on a line of its own.
  ~Progress() { finish(); }
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  /// `n` more bytes arrived or left: redraws at each whole percent (or MiB, size unknown).
  void add(uint64_t n);
  /// The transfer is over: ends the line the bar was drawn on, if one was drawn.
  void finish();

 private:
  void draw_bar();
  void draw_count();

  uint64_t done_;
  std::optional<uint64_t> total_;
  bool terminal_;
  int64_t shown_ = -1;  // the percent (or MiB) last drawn
};

}  // namespace sockserv
