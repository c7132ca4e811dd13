// Spawning a command with posix_spawn and collecting its output without blocking.
#include "command.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>

#include "error.hpp"
#include "fd.hpp"

extern char** environ;

namespace sockserv {
namespace {

constexpr Millis kGraceAfterKill{5'000};

// posix_spawn attributes: own process group, all signals default, empty signal mask.
struct SpawnAttributes {
  posix_spawnattr_t attr;
  SpawnAttributes() {
    posix_spawnattr_init(&attr);
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setpgroup(&attr, 0);  // group id = the child's pid
    posix_spawnattr_setflags(
        &attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP);
  }
  ~SpawnAttributes() { posix_spawnattr_destroy(&attr); }
};

struct FileActions {
  posix_spawn_file_actions_t actions;
  FileActions() { posix_spawn_file_actions_init(&actions); }
  ~FileActions() { posix_spawn_file_actions_destroy(&actions); }
};

// The spawned child: killed (with its group) and reaped, however run_command ends.
class Child {
 public:
  explicit Child(pid_t pid) : pid_(pid) {}
  ~Child() {
    if (reaped_) return;
    ::kill(-pid_, SIGKILL);
    reap();
  }
  pid_t pid() const { return pid_; }
  void kill_group() { ::kill(-pid_, SIGKILL); }
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
  bool reaped_ = false;
};

pid_t spawn(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env,
            int out, int err) {
  UniqueFd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!null) throw_errno("open /dev/null");
  FileActions files;
  // dup2 onto 0, 1, 2 clears close-on-exec there; every other descriptor of ours is CLOEXEC.
  posix_spawn_file_actions_adddup2(&files.actions, null.get(), 0);
  posix_spawn_file_actions_adddup2(&files.actions, out, 1);
  posix_spawn_file_actions_adddup2(&files.actions, err, 2);
  std::vector<char*> args, env;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  for (char** e = environ; *e != nullptr; ++e) env.push_back(*e);
  for (const std::string& e : extra_env) env.push_back(const_cast<char*>(e.c_str()));
  env.push_back(nullptr);
  SpawnAttributes attributes;
  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, args[0], &files.actions, &attributes.attr, args.data(), env.data());
  if (rc != 0) throw_errno(rc, "posix_spawnp " + argv[0]);
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

}  // namespace

CommandResult run_command(const std::vector<std::string>& argv,
                          const std::vector<std::string>& extra_env, const CommandLimits& limits,
                          IoContext& io) {
  if (argv.empty()) throw std::invalid_argument("run_command: empty argv");
  Pipe out = make_pipe(false), err = make_pipe(false);
  // Only our ends are non-blocking: the command writes to ordinary blocking pipes.
  set_nonblocking(out.read_end.get(), true);
  set_nonblocking(err.read_end.get(), true);
  Child child(spawn(argv, extra_env, out.write_end.get(), err.write_end.get()));
  out.write_end.reset();  // else we would never see EOF on the pipes
  err.write_end.reset();
  // A pidfd becomes readable when the child exits: one more descriptor to poll, no SIGCHLD.
  // (syscall(2): glibc 2.36's <sys/pidfd.h> lacks the extern "C" that C++ needs.)
  UniqueFd exited(static_cast<int>(::syscall(SYS_pidfd_open, child.pid(), 0)));
  if (!exited) throw_errno("pidfd_open");

  CommandResult result;
  size_t room = limits.max_output;
  std::array<pollfd, 3> fds{{{out.read_end.get(), POLLIN, 0},
                             {err.read_end.get(), POLLIN, 0},
                             {exited.get(), POLLIN, 0}}};
  bool done_child = false;
  Deadline deadline = Deadline::after(limits.timeout);
  bool killed = false;
  while (fds[0].fd >= 0 || fds[1].fd >= 0 || !done_child) {
    if (!io.wait(fds, deadline)) {
      if (killed) break;  // something outside the group holds the pipes: stop waiting
      child.kill_group();
      killed = true;
      result.timed_out = !done_child;
      deadline = Deadline::after(kGraceAfterKill);
      continue;
    }
    for (size_t i = 0; i < 2; ++i) {
      if (fds[i].revents != 0 &&
          !drain(fds[i].fd, i == 0 ? result.out : result.err, room, result.truncated, io))
        fds[i].fd = -1;
    }
    if (fds[2].revents != 0) {
      done_child = true;
      fds[2].fd = -1;  // poll ignores negative descriptors
    }
  }
  int status = child.reap();
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  return result;
}

}  // namespace sockserv
