// The iterative model: serve the request right here, then go back to accept().
#include "iterative.hpp"

#include "../waiters.hpp"

namespace sockserv {

void IterativeModel::process_request(Request request, RequestRunner& runner) {
  // While this client is served nobody else is awake to hear SIGTERM, so the waits of the
  // connection listen for the wakeup pipe too.
  CutWaiter waiter(runner.cut_fd(), runner.wakeup_fd(), [&runner] { runner.process_wakeups(); });
  runner.finish_request(request, waiter);
  runner.request_done(request.id);
}

}  // namespace sockserv
