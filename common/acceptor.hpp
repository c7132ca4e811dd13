// Acceptor: takes one connection off a listening socket, for whichever thread or process
// accepts in the chosen model (the main loop, a prefork worker, an event loop).
//
// Listening sockets are non-blocking: when several workers wait on one listener and a client
// arrives, all may wake but only one gets it; the others must get EAGAIN and go back to
// waiting, not hang in accept4 (each such empty wake-up is counted: the thundering herd).
// Out of descriptors (EMFILE), it keeps a spare one to drop the client cleanly (muduo's trick).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>

#include "fd.hpp"
#include "request.hpp"
#include "socket.hpp"

namespace sockserv {

/// What a worker counts, for --stats. Atomics: the supervisor reads them while it runs.
struct AcceptStats {
  std::atomic<uint64_t> accepted{0};       // connections taken
  std::atomic<uint64_t> empty_wakeups{0};  // woke up for a client another worker took
};

class Acceptor {
 public:
  /// `admit` numbers a request and decides about its peer (false: close it at once).
  /// `dropped` hears of a client closed at once for want of descriptors (EMFILE).
  /// `blocking_sockets`: hand out blocking connections (BlockingContext) or non-blocking.
  Acceptor(SocketOptions options, std::function<bool(Request&)> admit,
           std::function<void(const Request&)> dropped, bool blocking_sockets,
           AcceptStats* stats = nullptr);

  /// Accepts one connection if one is waiting and admitted; nullopt otherwise (nobody was
  /// waiting, the client left, it was refused, or descriptors ran out: see paused_until()).
  std::optional<Request> accept(const Listener& listener);
  /// After EMFILE or ENOBUFS, accepting pauses briefly instead of spinning.
  Clock::time_point paused_until() const { return paused_until_; }
  /// Where this acceptor counts (null: nowhere).
  AcceptStats* stats() const { return stats_; }

 private:
  void on_error(int err, const Listener& listener);

  SocketOptions options_;
  std::function<bool(Request&)> admit_;
  std::function<void(const Request&)> dropped_;
  int accept_flags_;
  AcceptStats* stats_;
  UniqueFd spare_fd_;  // kept open to survive EMFILE (see on_error)
  Clock::time_point paused_until_{};
  Clock::time_point last_emfile_log_{};
};

}  // namespace sockserv
