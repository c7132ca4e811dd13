// Starting a command under its reaper and collecting its output without blocking.
#include "command.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <sstream>

#include "command_reaper.hpp"
#include "error.hpp"
#include "fd.hpp"

namespace sockserv {
namespace {

// After the timeout (or the reaper's end), how long the pipes and the reaper may take to close.
constexpr Millis kGraceAfterKill{5'000};

// argv and envp as execve wants them, pointing into the strings (which must outlive them).
std::vector<char*> c_strings(const std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (const std::string& s : strings) pointers.push_back(const_cast<char*>(s.c_str()));
  pointers.push_back(nullptr);
  return pointers;
}

std::string path_of(const std::vector<std::string>& env) {
  for (const std::string& e : env) {
    if (e.rfind("PATH=", 0) == 0) return e.substr(5);
  }
  return "";
}

// The reaper, seen from the server: killed and reaped however run_command ends.
class Reaper {
 public:
  Reaper(pid_t pid, UniqueFd control) : pid_(pid), control_(std::move(control)) {
    // A pidfd becomes readable when the reaper exits: one more descriptor to poll, no SIGCHLD.
    // (syscall(2): glibc 2.36's <sys/pidfd.h> lacks the extern "C" that C++ needs.)
    exited_.reset(static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0)));
    if (!exited_) {
      int error = errno;
      ::kill(pid_, SIGKILL);
      reap();
      throw_errno(error, "pidfd_open");
    }
  }
  ~Reaper() {
    if (reaped_) return;
    ask_to_stop();  // it kills the command and all it started, then exits
    std::array<pollfd, 1> fds{{{exited_.get(), POLLIN, 0}}};
    bool exited = false;
    try {
      exited = PollContext().wait(fds, Deadline::after(kGraceAfterKill));
    } catch (const std::system_error&) {
      // poll failed: do not wait; the reaper's own children are then orphaned to init.
    }
    if (!exited) ::kill(pid_, SIGKILL);
    reap();
  }
  Reaper(const Reaper&) = delete;
  Reaper& operator=(const Reaper&) = delete;

  int exited_fd() const { return exited_.get(); }
  bool stop_asked() const { return !control_; }
  // Closing the control pipe is the request: the reaper sees end of file.
  void ask_to_stop() { control_.reset(); }
  void kill() { ::kill(pid_, SIGKILL); }
  // Only our own child, by pid: never waitpid(-1), which would steal other children.
  int reap() {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
    return status;
  }

 private:
  pid_t pid_;
  UniqueFd control_;  // write end; the reaper holds the read end
  UniqueFd exited_;
  bool reaped_ = false;
};

// Forks the reaper with every signal blocked, so that none of the server's handlers runs in
// the copy of the server before the reaper has set its own.
pid_t fork_reaper(const ReaperPlan& plan) {
  sigset_t all, old;
  sigfillset(&all);
  if (int rc = ::pthread_sigmask(SIG_SETMASK, &all, &old); rc != 0)
    throw_errno(rc, "pthread_sigmask");
  pid_t pid = ::fork();
  if (pid == 0) run_reaper(plan);
  int error = errno;
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (pid < 0) throw_errno(error, "fork");
  return pid;
}

// Reads what one pipe has; keeps it while the limit allows. Returns false at EOF.
bool drain(int fd, std::string& into, size_t& room, bool& truncated, IoContext& io) {
  std::array<std::byte, 16 * 1024> buffer;
  size_t n = read_some(fd, buffer, Deadline::after(Millis(0)), io);
  if (n == 0) return false;
  size_t keep = std::min(n, room);
  into.append(reinterpret_cast<const char*>(buffer.data()), keep);
  room -= keep;
  truncated |= keep < n;
  return true;
}

void apply_report(const ReaperReport& report, const std::string& program, CommandResult& result) {
  if (report.exec_errno != 0) throw_errno(report.exec_errno, "execve " + program);
  if (WIFEXITED(report.status)) result.exit_code = WEXITSTATUS(report.status);
  if (WIFSIGNALED(report.status)) result.signal = WTERMSIG(report.status);
  result.descendants_killed = static_cast<size_t>(report.descendants_killed);
  result.timed_out = result.timed_out && report.ended_first == 0;
}

}  // namespace

std::string find_program(const std::string& name, const std::string& path) {
  if (name.find('/') != std::string::npos) return name;
  std::istringstream directories(path);
  std::string directory;
  while (std::getline(directories, directory, ':')) {
    if (directory.empty()) continue;  // "" would mean the current directory: never for a server
    std::string candidate = directory + "/" + name;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::faccessat(AT_FDCWD, candidate.c_str(), X_OK, AT_EACCESS) == 0)
      return candidate;
  }
  throw std::system_error(ENOENT, std::generic_category(), "no " + name + " in PATH");
}

CommandResult run_command(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                          const CommandLimits& limits, IoContext& io) {
  if (argv.empty()) throw std::invalid_argument("run_command: empty argv");
  std::string program = find_program(argv[0], path_of(env));
  std::vector<char*> args = c_strings(argv), environment = c_strings(env);
  UniqueFd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!null) throw_errno("open /dev/null");
  Pipe out = make_pipe(false), err = make_pipe(false), report = make_pipe(false),
       control = make_pipe(false);
  // Only our ends are non-blocking: the command writes to ordinary blocking pipes.
  set_nonblocking(out.read_end.get(), true);
  set_nonblocking(err.read_end.get(), true);
  set_nonblocking(report.read_end.get(), true);
  ReaperPlan plan{
      program.c_str(),     args.data(),         environment.data(),     null.get(),
      out.write_end.get(), err.write_end.get(), report.write_end.get(), control.read_end.get()};
  Reaper reaper(fork_reaper(plan), std::move(control.write_end));
  out.write_end.reset();  // else we would never see EOF on the pipes
  err.write_end.reset();
  report.write_end.reset();
  control.read_end.reset();

  CommandResult result;
  size_t room = limits.max_output;
  std::array<pollfd, 3> fds{{{out.read_end.get(), POLLIN, 0},
                             {err.read_end.get(), POLLIN, 0},
                             {reaper.exited_fd(), POLLIN, 0}}};
  Deadline deadline = Deadline::after_or_never(limits.timeout);
  bool reaper_done = false;
  while (fds[0].fd >= 0 || fds[1].fd >= 0 || !reaper_done) {
    if (!io.wait(fds, deadline)) {
      if (reaper.stop_asked()) break;  // the grace time is over too
      reaper.ask_to_stop();
      result.timed_out = true;  // unless the reaper reports that the command had ended
      deadline = Deadline::after(kGraceAfterKill);
      continue;
    }
    for (size_t i = 0; i < 2; ++i) {
      if (fds[i].revents != 0 &&
          !drain(fds[i].fd, i == 0 ? result.out : result.err, room, result.truncated, io))
        fds[i].fd = -1;  // poll ignores negative descriptors
    }
    if (fds[2].revents != 0) {
      reaper_done = true;
      fds[2].fd = -1;
      // All it could reach is dead: what still holds the pipes is out of reach. Bounded wait.
      deadline = deadline.earlier(Deadline::after(kGraceAfterKill));
    }
  }
  result.output_held = fds[0].fd >= 0 || fds[1].fd >= 0;
  if (!reaper_done) reaper.kill();  // stuck (a process it could not kill): give up on it
  int status = reaper.reap();
  ReaperReport got;
  std::span<std::byte> bytes(reinterpret_cast<std::byte*>(&got), sizeof got);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
      read_full(report.read_end.get(), bytes, Deadline::after(Millis(0)), io) == sizeof got) {
    apply_report(got, argv[0], result);
  } else if (WIFEXITED(status)) {
    throw std::system_error(std::make_error_code(std::errc::resource_unavailable_try_again),
                            "the reaper of " + argv[0] + " could not start it");
  } else {
    result.signal = SIGKILL;  // the reaper was killed (by us, when it hung): so was the command
  }
  return result;
}

}  // namespace sockserv
