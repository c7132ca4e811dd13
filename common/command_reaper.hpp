// The reaper: a small process cmd-server forks for each command, so that nothing the command
// starts outlives its request.
//
// The reaper is a child subreaper (prctl PR_SET_CHILD_SUBREAPER): whatever the command leaves
// behind (`sleep 100 &`, a double fork, `setsid sleep &`) is reparented to the reaper, not to
// init, so it can still be found (/proc/thread-self/children) and killed. The command runs in
// a session of its own (setsid), so one kill(-pid) reaches its whole process group. When the
// command ends, or when the server asks (it closes the control pipe: at the timeout, when it
// stops, or when it dies), the reaper SIGKILLs the group and every process it adopted, reaps
// them all, writes a ReaperReport and exits.
//
// It runs between fork() and _exit() in a copy of a possibly threaded server: only
// async-signal-safe calls, no allocation, no exceptions. Everything it needs is prepared in a
// ReaperPlan before the fork.
#pragma once

#include <sys/types.h>

namespace sockserv {

/// What the reaper tells the server when it is done (one write, smaller than PIPE_BUF).
struct ReaperReport {
  int status = 0;              // the command's wait status (waitpid)
  int ended_first = 0;         // 1: the command ended by itself, before a stop was asked for
  int descendants_killed = 0;  // processes it left running that the reaper killed
  int exec_errno = 0;          // not 0: the command could not be started (execve's errno)
};

/// Everything the reaper needs, prepared before fork().
struct ReaperPlan {
  const char* path;   // the program, already looked up in PATH
  char* const* argv;  // null-terminated
  char* const* envp;  // null-terminated: the command's whole environment
  int stdin_fd;       // /dev/null
  int stdout_fd;      // write ends of the output pipes
  int stderr_fd;
  int report_fd;   // write end: the ReaperReport
  int control_fd;  // read end: end of file (the server closed it) means "kill everything now"
};

/// The reaper's whole life, in the child of fork(). Never returns.
[[noreturn]] void run_reaper(const ReaperPlan& plan) noexcept;

}  // namespace sockserv
