// DrainDeadline: how a stopping server ends the connections still running once its drain
// time (--drain-timeout) is over.
//
// On SIGTERM the server stops accepting and lets connections finish. When the drain time is
// over, every connection must end, wherever it is waiting:
//   - in poll(2) or epoll: the timerfd below becomes readable, and stays so, for everyone
//     who watches it (threads of this process and forked children share the same timer);
//   - in a blocking read(2) or write(2) of a thread: fire() shuts the socket down, so the
//     call returns at once;
//   - in a blocking call of a child process: the parent sends kDrainSignal; the child's
//     handler shuts its one connection down (shutdown(2) is async-signal-safe).
// After each of these the connection's IoContext sees passed() and throws
// DrainDeadlinePassed, which ends the handler and is logged as such.
#pragma once

#include <signal.h>

#include <atomic>
#include <mutex>
#include <unordered_set>

#include "fd.hpp"
#include "io.hpp"

namespace sockserv {

/// The signal a parent sends its children when the drain time is over.
inline constexpr int kDrainSignal = SIGUSR2;

class DrainDeadline {
 public:
  DrainDeadline();

  /// Readable once the drain time is over: poll-style waits watch it.
  int fd() const { return timer_.get(); }
  /// Starts the drain time: the timer fires after `delay` (0: now).
  void arm(Millis delay);
  /// Starts the drain time of --drain-timeout: fires after `limit`; 0 is no limit, as for
  /// every duration option (armed, never fires: a second SIGTERM still ends it).
  void arm_limit(Millis limit);
  bool armed() const { return armed_; }
  /// True once the drain time is over (in this process, or signalled by the parent).
  bool passed() const;
  /// When the timer fires: marks the deadline passed and shuts down every watched socket.
  void fire();

  /// A blocking socket of this process: fire() (or kDrainSignal) shuts it down.
  void watch(int socket);
  /// The socket is about to be closed.
  void unwatch(int socket);
  /// In a child process after fork(): kDrainSignal now marks the deadline passed and shuts
  /// down the child's watched socket (a child serves one connection at a time).
  void enter_child();

 private:
  UniqueFd timer_;
  void disarm_timer();
  bool armed_ = false;
  bool in_child_ = false;
  std::atomic<bool> passed_{false};
  std::mutex mutex_;  // guards sockets_: threads watch, the main thread fires
  std::unordered_set<int> sockets_;
};

}  // namespace sockserv
