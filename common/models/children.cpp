// Reaping children: one SIGCHLD may stand for many.
#include "children.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>

#include "../log.hpp"

namespace sockserv {

Children::Children(size_t capacity)
    : capacity_(capacity),
      memory_(sizeof(size_t) + capacity * sizeof(Child), "the list of children"),
      count_(static_cast<size_t*>(memory_.data())),
      children_(reinterpret_cast<Child*>(count_ + 1)) {
  static_assert(alignof(Child) <= sizeof(size_t), "the table starts right after the count");
}

void Children::add(pid_t pid, uint64_t tag) {
  if (*count_ == capacity_) throw std::length_error("more children than the model allows");
  children_[(*count_)++] = Child{pid, tag};
}

void Children::reap(const OnExit& on_exit) {
  // One SIGCHLD may stand for many children (signals do not queue), so loop until no
  // finished child is left. WNOHANG: never block here, the server has clients to accept.
  // Once none of ours is left there is nothing to wait for: stop without asking the kernel.
  while (!empty()) {
    int status = 0;
    rusage usage{};
    // wait4: waitpid that also tells what the child used (for --stats).
    pid_t pid = ::wait4(-1, &status, WNOHANG, &usage);
    if (pid == 0) return;  // children remain, none finished
    if (pid < 0) {
      if (errno == EINTR) continue;
      return;  // ECHILD: no children at all
    }
    Child* end = children_ + *count_;
    Child* child = std::find_if(children_, end, [pid](const Child& c) { return c.pid == pid; });
    if (child != end) {
      uint64_t tag = child->tag;
      *child = children_[--*count_];  // the order does not matter: fill the hole with the last
      on_exit(pid, tag, status, usage);
    }
    if (WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL) {
      log_warning("child ", pid, " killed by signal ", WTERMSIG(status));
    }
  }
}

void Children::signal_all(int signo) const {
  for (size_t i = 0; i < *count_; ++i) ::kill(children_[i].pid, signo);
}

void Children::kill_all(std::string_view why) const {
  for (size_t i = 0; i < *count_; ++i) {
    log_warning("child ", children_[i].pid, ": ", why, ": killing it");
    ::kill(children_[i].pid, SIGKILL);
  }
}

}  // namespace sockserv
