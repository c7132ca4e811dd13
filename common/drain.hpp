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
//
// Before that, as soon as the stop begins, idle connections end: a connection waiting for
// the first byte of its next message (Connection tells which: set_idle) is shut down for
// reading, so its read returns end of file and its handler ends as if the client had left.
// Bytes already queued are still read first, and the reply in progress is still sent
// (SHUT_RD leaves the sending side open); a connection in the middle of a message goes on
// until the drain time is over. Threads and event loops of this process are reached by
// begin_stopping(); a child process by SIGTERM from its parent (stop_in_child()).
#pragma once

#include <signal.h>

#include <atomic>
#include <mutex>
#include <unordered_map>

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

  /// The stop has begun: idle connections of this process are shut for reading now, and
  /// those that become idle later at that moment.
  void begin_stopping();
  /// True once the stop has begun (in this process, or SIGTERM from the parent).
  bool stopping() const;

  /// A connection's socket of this process (idle at first): fire() (or kDrainSignal) shuts
  /// it down, begin_stopping() (or SIGTERM in a child) while it is idle.
  void watch(int socket);
  /// The socket is about to be closed.
  void unwatch(int socket);
  /// The connection waits for the first byte of its next message (idle) or is inside one.
  void set_idle(int socket, bool idle);
  /// In a child process after fork(): kDrainSignal now marks the deadline passed and shuts
  /// down the child's watched socket (a child serves one connection at a time), and SIGTERM
  /// calls stop_in_child().
  void enter_child();
  /// A child's SIGTERM: the stop has begun; shuts its connection for reading if it is idle.
  /// Async-signal-safe: a prefork worker's own SIGTERM handler calls it too.
  static void stop_in_child();

 private:
  UniqueFd timer_;
  void disarm_timer();
  bool armed_ = false;
  bool in_child_ = false;
  std::atomic<bool> passed_{false};
  mutable std::mutex mutex_;  // guards sockets_ and stopping_: threads watch, the main thread fires
  bool stopping_ = false;
  std::unordered_map<int, bool> sockets_;  // socket -> idle
};

}  // namespace sockserv
