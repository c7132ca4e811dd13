// The reaper process: start the command, wait for its end or a stop, kill what is left.
// Only async-signal-safe calls from here on (see command_reaper.hpp).
#include "command_reaper.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "fd.hpp"

namespace sockserv {
namespace {

// The reaper's descriptors once arranged: the command inherits 0, 1 and 2 only.
constexpr int kStdin = 0, kStdout = 1, kStderr = 2, kReport = 3, kControl = 4;
constexpr int kReaperBroken = 125;  // exit status when the reaper could not even start

// Signal flag of the reaper process: SIGTERM to the reaper kills the command now.
volatile sig_atomic_t g_stop_asked = 0;
void on_stop(int) {
  g_stop_asked = 1;
}

void set_disposition(int signal, void (*handler)(int)) {
  struct sigaction action {};
  action.sa_handler = handler;  // no SA_RESTART: poll and waitpid return EINTR
  sigemptyset(&action.sa_mask);
  ::sigaction(signal, &action, nullptr);  // fails only for SIGKILL, SIGSTOP and glibc's own
}

void unblock_all_signals() {
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

// Moves the five descriptors to 0..4 and closes every other one: the reaper must not hold
// the server's listeners and other clients' sockets open while the command runs.
bool arrange_descriptors(const ReaperPlan& plan) {
  const int from[] = {plan.stdin_fd, plan.stdout_fd, plan.stderr_fd, plan.report_fd,
                      plan.control_fd};
  int high[5];
  // First above 4, so that moving one into place cannot overwrite another not yet moved.
  for (int i = 0; i < 5; ++i) {
    high[i] = ::fcntl(from[i], F_DUPFD_CLOEXEC, 5);
    if (high[i] < 0) return false;
  }
  for (int i = 0; i < 5; ++i) {
    if (::dup2(high[i], i) < 0) return false;  // the copy at i is not close-on-exec
  }
  return ::close_range(5, ~0U, 0) == 0;
}

// In the command's process: a session of its own, default signals, then execve.
[[noreturn]] void exec_command(const ReaperPlan& plan, int exec_error_fd) {
  ::setsid();  // its own session and process group: kill(-pid) reaches all it starts there
  // Ignored signals stay ignored across execve (the reaper ignores a few): back to defaults.
  for (int signal = 1; signal < NSIG; ++signal) set_disposition(signal, SIG_DFL);
  unblock_all_signals();
  int error = 0;
  if (::chdir("/") < 0) error = errno;  // a known directory: relative names mean the same
  ::close_range(kReport, kControl, 0);  // the command gets stdin, stdout and stderr only
  if (error == 0) {
    ::execve(plan.path, plan.argv, plan.envp);
    error = errno;
  }
  // exec_error_fd is close-on-exec: the reaper reads end of file when execve succeeds.
  while (::write(exec_error_fd, &error, sizeof error) < 0 && errno == EINTR) {
  }
  ::_exit(127);
}

// Waits until the command ends (true) or a stop is asked for (false).
bool wait_for_command(pid_t command) {
  UniqueFd exited(static_cast<int>(::syscall(SYS_pidfd_open, command, 0)));
  pollfd fds[2] = {{kControl, POLLIN, 0}, {exited.get(), POLLIN, 0}};
  while (!g_stop_asked) {
    if (::poll(fds, exited ? 2 : 1, -1) < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (fds[1].revents != 0) return true;
    if (fds[0].revents != 0) return false;  // POLLHUP: the server closed its end
  }
  return false;
}

void kill_with_group(pid_t pid) {
  ::kill(-pid, SIGKILL);  // ESRCH unless it leads a group
  ::kill(pid, SIGKILL);
}

// SIGKILL to every child the reaper has (the command, orphans it adopted) and to the group
// each leads. Their ids cannot be reused meanwhile: a child is ours until we reap it.
void kill_children() {
  UniqueFd list(::open("/proc/thread-self/children", O_RDONLY | O_CLOEXEC));
  if (!list) return;  // no /proc: only the command's group is reached
  char buffer[256];   // "pid pid pid ", parsed as it comes: no allocation here
  pid_t pid = 0;
  for (;;) {
    ssize_t n = ::read(list.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    for (ssize_t i = 0; i < n; ++i) {
      if (buffer[i] >= '0' && buffer[i] <= '9') {
        pid = pid * 10 + (buffer[i] - '0');
      } else if (pid > 0) {
        kill_with_group(pid);
        pid = 0;
      }
    }
  }
  if (pid > 0) kill_with_group(pid);
}

// Kills and reaps everything until the reaper has no child left.
void kill_everything(pid_t command, ReaperReport& report) {
  bool command_reaped = false;
  for (;;) {
    // The group id is safe to use while its leader is unreaped (a zombie holds the id).
    if (!command_reaped) ::kill(-command, SIGKILL);
    kill_children();
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      return;  // ECHILD: nothing left
    }
    if (pid == command) {
      command_reaped = true;
      report.status = status;
    } else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) {
      ++report.descendants_killed;
    }
  }
}

}  // namespace

void run_reaper(const ReaperPlan& plan) noexcept {
  // The server blocked every signal before fork(): none of its handlers can run here.
  if (!arrange_descriptors(plan)) ::_exit(kReaperBroken);
  // Orphans of the command are reparented to the reaper instead of init: it can kill them.
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) ::_exit(kReaperBroken);
  for (int signal = 1; signal < NSIG; ++signal) set_disposition(signal, SIG_DFL);
  set_disposition(SIGTERM, on_stop);
  // Signals the server handles for itself (a reload, statistics, a terminal's Ctrl-C for the
  // server's group) must not end the reaper and leave the command unwatched.
  for (int signal : {SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGPIPE})
    set_disposition(signal, SIG_IGN);

  ReaperReport report;
  int exec_error[2];
  if (::pipe2(exec_error, O_CLOEXEC) < 0) ::_exit(kReaperBroken);
  UniqueFd exec_error_read(exec_error[0]), exec_error_write(exec_error[1]);
  pid_t command = ::fork();
  if (command == 0) exec_command(plan, exec_error_write.get());
  unblock_all_signals();
  exec_error_write.reset();
  // The output pipes are the command's alone now: the server sees end of file when it ends.
  ::dup2(kStdin, kStdout);
  ::dup2(kStdin, kStderr);
  if (command < 0) {
    report.exec_errno = errno;
  } else {
    ssize_t n;
    while ((n = ::read(exec_error_read.get(), &report.exec_errno, sizeof report.exec_errno)) < 0 &&
           errno == EINTR) {
    }
    if (n != sizeof report.exec_errno) report.exec_errno = 0;
    if (report.exec_errno == 0) report.ended_first = wait_for_command(command) ? 1 : 0;
    kill_everything(command, report);
  }
  while (::write(kReport, &report, sizeof report) < 0 && errno == EINTR) {
  }
  ::_exit(0);
}

}  // namespace sockserv
