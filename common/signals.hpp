// Signals, turned into something a poll loop can wait for: the "self-pipe trick".
//
// A signal handler may do almost nothing safely, so ours only set a flag and write one byte
// into a pipe. The server's main loop polls the pipe's read end next to its sockets, wakes
// up, and does the real work (reaping children, stopping) in ordinary code. shutdown() from
// another thread uses the same pipe, so stopping is immediate: no polling interval.
#pragma once

namespace sockserv {

/// What woke the main loop since it last looked.
struct WakeupReasons {
  bool stop = false;          // SIGTERM, SIGINT or shutdown()
  bool child_exited = false;  // SIGCHLD
  bool worker_done = false;   // a connection thread finished
  bool status = false;        // SIGUSR1: log a status line
  bool reload = false;        // SIGHUP: reopen the access log, reload what can be reloaded
};

class Wakeup {
 public:
  /// Creates the pipe and installs the handlers (SIGTERM, SIGINT, SIGCHLD, SIGUSR1, SIGHUP:
  /// whose default action would kill the server, children orphaned and files left); ignores
  /// SIGPIPE so that writing to a vanished client is an EPIPE error, not death.
  Wakeup();
  ~Wakeup();
  Wakeup(const Wakeup&) = delete;
  Wakeup& operator=(const Wakeup&) = delete;

  /// The read end, to poll for POLLIN.
  int fd() const;
  /// Safe from any thread and from signal handlers.
  static void request_stop();
  static void notify_worker_done();
  /// Empties the pipe and returns (and clears) the reasons recorded since the last call.
  WakeupReasons take();
  /// In a forked child, after it has put its own SIGTERM handler in place
  /// (DrainDeadline::enter_child): default SIGCHLD (so the child can wait for its own
  /// children), SIGINT ignored (the parent decides when a child must stop), SIGHUP and
  /// SIGUSR1 ignored (the parent reloads; a hangup of the terminal's process group must not
  /// end the child's connection), pipe closed. Returns true when a SIGTERM or SIGINT reached
  /// the child before this, with the parent's handler (or the parent had one pending at
  /// fork()): the stop has begun, and the child must not miss it.
  bool release_in_child();
};

/// Ignores SIGPIPE for the whole process (clients call this too).
void ignore_sigpipe();

}  // namespace sockserv
