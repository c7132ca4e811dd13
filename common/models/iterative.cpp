// The iterative model: serve the request right here, then go back to accept().
#include "iterative.hpp"

#include "../io_contexts.hpp"

namespace sockserv {

void IterativeModel::process_request(Request request, ServerCore& core) {
  // While this client is served nobody else is awake to hear SIGTERM, so the waits of the
  // connection listen for the wakeup pipe too.
  LoopPollContext io(core.drain(), core.wakeup_fd(), [&core] { core.process_wakeups(); });
  core.finish_request(request, io);
  core.request_done(request.id);
}

}  // namespace sockserv
