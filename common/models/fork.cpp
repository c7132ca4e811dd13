// fork() per request, and reaping with waitpid(WNOHANG) so no child is left a zombie.
#include "fork.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "../log.hpp"
#include "../waiters.hpp"

namespace sockserv {

std::unique_ptr<Hub> ForkModel::make_hub() {
  auto hub = std::make_unique<ProcessHub>();
  hub_ = hub.get();
  return hub;
}

void ForkModel::process_request(Request request, RequestRunner& runner) {
  // The child's link to the hub is made before fork() so that both processes have it. If
  // fork fails, its end closes below and the hub sees the link end at once.
  UniqueFd hub_link = hub_ != nullptr ? hub_->open_link() : UniqueFd();
  pid_t pid = ::fork();
  if (pid < 0) {
    // Out of processes: this client is closed (it reads EOF) and the server carries on.
    log_error("fork for ", to_string(request.peer), ": ", std::strerror(errno));
    runner.request_done(request.id);
    return;
  }
  if (pid == 0) {
    // Child: drop the listening sockets (the parent keeps accepting on them) and serve.
    runner.prepare_child();
    if (hub_ != nullptr) hub_->enter_child(std::move(hub_link));
    CutWaiter waiter(runner.cut_fd());
    bool ok = runner.finish_request(request, waiter);
    // _exit, not exit: the child must not run the parent's atexit handlers or destructors
    // (which would, say, remove the parent's unix socket file).
    ::_exit(ok ? 0 : 1);
  }
  // Parent: `request.socket` is closed when this function returns; the child has its own
  // copy. Without that the client would never see EOF when the child closes.
  children_.emplace(pid, request.id);
  runner_ = &runner;
}

void ForkModel::collect_finished() {
  // One SIGCHLD may stand for many children (signals do not queue), so loop until no
  // finished child is left. WNOHANG: never block here, the server has clients to accept.
  for (;;) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid == 0) return;  // children remain, none finished
    if (pid < 0) {
      if (errno == EINTR) continue;
      return;  // ECHILD: no children at all
    }
    auto child = children_.find(pid);
    if (child != children_.end()) {
      runner_->request_done(child->second);
      children_.erase(child);
    }
    if (WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL) {
      log_warning("child ", pid, " killed by signal ", WTERMSIG(status));
    }
  }
}

void ForkModel::force_stop() {
  for (const auto& [pid, id] : children_) {
    log_warning("child ", pid, " still running after the drain time: killing it");
    ::kill(pid, SIGKILL);
  }
}

}  // namespace sockserv
