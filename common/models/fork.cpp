// fork() per request, and reaping with waitpid(WNOHANG) so no child is left a zombie.
#include "fork.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "../io_contexts.hpp"
#include "../log.hpp"

namespace sockserv {

std::unique_ptr<Hub> ForkModel::make_hub() {
  return std::make_unique<ProcessHub>();
}

void ForkModel::process_request(Request request, ServerCore& core) {
  // Made before fork() so that both processes have it: the child's link to the chat hub.
  UniqueFd hub_link = core.before_fork();
  std::optional<AccessRecord> record = core.parent_record(request);
  pid_t pid = ::fork();
  if (pid < 0) {
    // Out of processes: this client is closed (it reads EOF) and the server carries on.
    log_error("fork for ", to_string(request.peer), ": ", std::strerror(errno));
    core.request_refused(request, "limit");
    core.request_done(request.id);
    return;
  }
  if (pid == 0) {
    // Child: drop the listening sockets (the parent keeps accepting on them) and serve.
    core.in_child(std::move(hub_link), /*keep_listeners=*/false);
    BlockingContext io(core.drain());
    // A second descriptor of the connection, closed only by _exit. The client sees our FIN
    // when the last descriptor is closed, and _exit frees this process's memory before it
    // closes its descriptors: so the client's next connection reaches the parent after the
    // pages it shared with this child are freed, and the parent's next writes need not copy
    // them (copy-on-write; measured in docs/benchmarks.md). Empty if out of descriptors:
    // then the connection simply closes a little earlier.
    UniqueFd open_until_exit = duplicate(request.socket.get());
    bool ok = core.finish_request(request, io);
    // _exit, not exit: the child must not run the parent's atexit handlers or destructors
    // (which would, say, remove the parent's unix socket file).
    ::_exit(ok ? 0 : 1);
  }
  // Parent: `request.socket` is closed when this function returns; the child has its own
  // copy. Without that the client would never see EOF when the child closes.
  children_.add(pid, request.id);
  if (record) records_.emplace(request.id, std::move(*record));
}

void ForkModel::collect_finished() {
  children_.reap([this](pid_t pid, uint64_t id, int status, const rusage&) {
    auto record = records_.extract(id);
    // A child that finished wrote its own line; one killed by a signal could not.
    if (!record.empty() && WIFSIGNALED(status))
      core_->request_killed(std::move(record.mapped()), pid, WTERMSIG(status), forced_);
    core_->request_done(id);
  });
}

bool ForkModel::force_stop() {
  forced_ = true;  // the SIGKILLs that follow are the drain's, not a crash
  children_.kill_all("child still running after the drain time");
  return true;
}

}  // namespace sockserv
