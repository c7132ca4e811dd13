// OutputFile: where a client writes what it downloads (http-client -o), standard output or
// a file that appears whole or not at all.
//
// A file's bytes go first to an unnamed-looking sibling, PATH.XXXXXX.part (same directory, so
// the final rename(2) is atomic), which is fsync'ed and renamed to PATH only by commit(): a
// reader of PATH never sees half a download, and a failed one leaves PATH as it was. The part
// file is removed when the download fails. Exit codes are the client's (sysexits): a file that
// cannot be created is EX_CANTCREAT, a failed write EX_IOERR.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "fd.hpp"

namespace sockserv {

class OutputFile {
 public:
  /// Standard output for "" or "-"; otherwise creates the part file of `path` now (so that a
  /// path that cannot be written fails before any transfer). Throws FatalError(EX_CANTCREAT).
  explicit OutputFile(const std::string& path);
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  /// Appends `bytes`. Throws FatalError(EX_IOERR) (a full disk, a closed pipe on stdout).
  void write(std::string_view bytes);
  /// The download is complete: flush it and give it its name. Throws FatalError(EX_IOERR).
  void commit();
  bool is_file() const { return !path_.empty(); }

 private:
  std::string path_;       // "" for standard output
  std::string part_path_;  // the file being written, until commit()
  UniqueFd file_;
};

}  // namespace sockserv
