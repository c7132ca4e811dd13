// The self-pipe: signal handlers that only set flags and write one byte.
#include "signals.hpp"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <initializer_list>

#include "error.hpp"
#include "fd.hpp"

namespace sockserv {
namespace {

// Signal flags: the only mutable globals in sockserv. Lock-free atomics are safe to touch
// from a signal handler.
std::atomic<int> g_pipe_write_fd{-1};
std::atomic<int> g_pipe_read_fd{-1};
std::atomic<bool> g_stop{false};
std::atomic<bool> g_child{false};
std::atomic<bool> g_worker_done{false};
std::atomic<bool> g_status{false};
std::atomic<bool> g_reload{false};
static_assert(std::atomic<int>::is_always_lock_free && std::atomic<bool>::is_always_lock_free);

// The signals the server's main loop hears.
constexpr int kHandled[] = {SIGTERM, SIGINT, SIGCHLD, SIGUSR1, SIGHUP};

void poke_pipe() {
  int saved_errno = errno;  // a handler must leave errno as it found it
  int fd = g_pipe_write_fd.load();
  if (fd >= 0) {
    char byte = 1;
    // Non-blocking: if the pipe is full, the loop is going to wake up anyway.
    [[maybe_unused]] ssize_t n = ::write(fd, &byte, 1);
  }
  errno = saved_errno;
}

void on_signal(int signo) {
  switch (signo) {
    case SIGTERM:
    case SIGINT:
      g_stop = true;
      break;
    case SIGCHLD:
      g_child = true;
      break;
    case SIGUSR1:
      g_status = true;
      break;
    case SIGHUP:
      g_reload = true;
      break;
    default:
      break;
  }
  poke_pipe();
}

void set_handler(int signo, void (*handler)(int)) {
  struct sigaction action {};
  action.sa_handler = handler;
  sigemptyset(&action.sa_mask);
  // No SA_RESTART: blocking calls return EINTR, and every loop in common/io retries them
  // with the time that is left. SA_NOCLDSTOP: a stopped child is not a finished one.
  action.sa_flags = signo == SIGCHLD ? SA_NOCLDSTOP : 0;
  if (::sigaction(signo, &action, nullptr) < 0) throw_errno("sigaction");
}

}  // namespace

void ignore_sigpipe() {
  set_handler(SIGPIPE, SIG_IGN);
}

Wakeup::Wakeup() {
  Pipe pipe = make_pipe(/*nonblocking=*/true);
  g_pipe_read_fd = pipe.read_end.release();
  g_pipe_write_fd = pipe.write_end.release();
  ignore_sigpipe();
  for (int signo : kHandled) set_handler(signo, on_signal);
  // A signal mask is inherited across exec, and a blocked signal is never delivered: started
  // by a program that had SIGCHLD or SIGTERM blocked, the server would never reap a child
  // (and stall at --max-children) nor hear that it should stop.
  sigset_t ours;
  sigemptyset(&ours);
  for (int signo : kHandled) sigaddset(&ours, signo);
  if (int rc = ::pthread_sigmask(SIG_UNBLOCK, &ours, nullptr); rc != 0)
    throw_errno(rc, "pthread_sigmask");
}

Wakeup::~Wakeup() {
  for (int signo : kHandled) {
    struct sigaction action {};
    action.sa_handler = SIG_DFL;
    ::sigaction(signo, &action, nullptr);
  }
  UniqueFd(g_pipe_write_fd.exchange(-1));  // closes
  UniqueFd(g_pipe_read_fd.exchange(-1));
}

int Wakeup::fd() const {
  return g_pipe_read_fd.load();
}

void Wakeup::request_stop() {
  g_stop = true;
  poke_pipe();
}

void Wakeup::notify_worker_done() {
  g_worker_done = true;
  poke_pipe();
}

WakeupReasons Wakeup::take() {
  char sink[256];
  // A pipe's read returns every byte it holds, up to the buffer's size: a short read has
  // emptied it, and only a full one needs another look.
  while (::read(fd(), sink, sizeof sink) == static_cast<ssize_t>(sizeof sink)) {
  }
  // Read the flags after emptying the pipe: a signal arriving in between leaves a byte in
  // the pipe, so the loop wakes once more and sees it.
  WakeupReasons reasons;
  reasons.stop = g_stop.exchange(false);
  reasons.child_exited = g_child.exchange(false);
  reasons.worker_done = g_worker_done.exchange(false);
  reasons.status = g_status.exchange(false);
  reasons.reload = g_reload.exchange(false);
  return reasons;
}

bool Wakeup::release_in_child() {
  // SIGTERM is left alone: the child has already put its own handler there (drain.hpp).
  set_handler(SIGCHLD, SIG_DFL);
  set_handler(SIGUSR1, SIG_IGN);
  set_handler(SIGHUP, SIG_IGN);
  set_handler(SIGINT, SIG_IGN);
  UniqueFd(g_pipe_write_fd.exchange(-1));
  UniqueFd(g_pipe_read_fd.exchange(-1));
  // The parent's SIGTERM may have come between fork() and the child's own handler: it ran
  // the parent's handler here, which only set this copy of the flag.
  return g_stop.exchange(false);
}

}  // namespace sockserv
