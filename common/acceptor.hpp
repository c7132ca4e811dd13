// Acceptor: takes one connection off a listening socket, for whichever thread or process
// accepts in the chosen model (the main loop, a prefork worker, an event loop).
//
// Listening sockets are non-blocking: when several workers wait on one listener and a client
// arrives, all may wake but only one gets it; the others must get EAGAIN and go back to
// waiting, not hang in accept4 (each such empty wake-up is counted: the thundering herd).
// Out of descriptors (EMFILE), a spare one drops the client cleanly (muduo's trick); the
// spare and the warning are shared by every acceptor of the server (DescriptorShortage).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>

#include "fd.hpp"
#include "request.hpp"
#include "shared_memory.hpp"
#include "socket.hpp"

namespace sockserv {

/// What a worker counts, for --stats. Atomics: the supervisor reads them while it runs.
struct AcceptStats {
  std::atomic<uint64_t> accepted{0};       // connections taken
  std::atomic<uint64_t> empty_wakeups{0};  // woke up for a client another worker took
};

/// Running out of descriptors, as every acceptor of one server meets it: one spare descriptor
/// per process (not one per worker thread, which would itself eat the descriptors it is there
/// to save), and one warning a second for the whole server, worker processes included.
class DescriptorShortage {
 public:
  DescriptorShortage();
  DescriptorShortage(const DescriptorShortage&) = delete;
  DescriptorShortage& operator=(const DescriptorShortage&) = delete;

  /// accept4 on `listener_fd` failed with `err` (EMFILE, ENFILE): frees the spare, takes the
  /// waiting client and closes it at once (it sees EOF, not a hang), takes the spare back,
  /// and warns if no warning was given in the last second. `dropped` hears of the client
  /// (its access log line) while it is still open.
  void drop_one_client(int listener_fd, int err,
                       const std::function<void(const Request&)>& dropped);
  /// Clients dropped since the server started.
  uint64_t dropped() const { return shared_->dropped.load(std::memory_order_relaxed); }

 private:
  // In MAP_SHARED memory made before any fork: prefork's workers warn and count as one.
  struct Shared {
    std::atomic<int64_t> last_warning_ms{-1000};  // CLOCK_MONOTONIC milliseconds
    std::atomic<uint64_t> dropped{0};
    std::atomic<uint64_t> dropped_at_last_warning{0};
  };
  void warn_at_most_once_a_second(int err);

  std::mutex spare_mutex_;  // threads of one process take turns with the one spare
  UniqueFd spare_fd_;
  SharedMemory<Shared> shared_;  // made before any fork: counts across prefork workers
};

class Acceptor {
 public:
  /// `admit` numbers a request and decides about its peer (false: close it at once).
  /// `dropped` hears of a client closed at once for want of descriptors (EMFILE).
  /// `blocking_sockets`: hand out blocking connections (BlockingContext) or non-blocking.
  /// `shortage`: the server's, shared by all its acceptors (it must outlive this one).
  Acceptor(SocketOptions options, std::function<bool(Request&)> admit,
           std::function<void(const Request&)> dropped, bool blocking_sockets,
           DescriptorShortage& shortage, AcceptStats* stats = nullptr);

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
  DescriptorShortage* shortage_;
  AcceptStats* stats_;
  Clock::time_point paused_until_{};
};

}  // namespace sockserv
