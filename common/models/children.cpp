// Reaping children: one SIGCHLD may stand for many.
#include "children.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>

#include "../log.hpp"

namespace sockserv {

void Children::reap(const std::function<void(pid_t, uint64_t, int)>& on_exit) {
  // One SIGCHLD may stand for many children (signals do not queue), so loop until no
  // finished child is left. WNOHANG: never block here, the server has clients to accept.
  // Once none of ours is left there is nothing to wait for: stop without asking the kernel.
  while (!children_.empty()) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid == 0) return;  // children remain, none finished
    if (pid < 0) {
      if (errno == EINTR) continue;
      return;  // ECHILD: no children at all
    }
    auto child = std::find_if(children_.begin(), children_.end(),
                              [pid](const auto& entry) { return entry.first == pid; });
    if (child != children_.end()) {
      uint64_t tag = child->second;
      *child = children_.back();  // the order does not matter: fill the hole with the last
      children_.pop_back();
      on_exit(pid, tag, status);
    }
    if (WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL) {
      log_warning("child ", pid, " killed by signal ", WTERMSIG(status));
    }
  }
}

void Children::signal_all(int signo) const {
  for (const auto& [pid, tag] : children_) ::kill(pid, signo);
}

void Children::kill_all(std::string_view why) const {
  for (const auto& [pid, tag] : children_) {
    log_warning("child ", pid, ": ", why, ": killing it");
    ::kill(pid, SIGKILL);
  }
}

}  // namespace sockserv
