// A thread per request, joined when it ends.
#include "thread.hpp"

#include <cstring>
#include <system_error>

#include "../log.hpp"
#include "../signals.hpp"
#include "../waiters.hpp"

namespace sockserv {

ThreadModel::~ThreadModel() {
  for (Worker& worker : workers_) {
    if (worker.thread.joinable()) worker.thread.join();
  }
}

void ThreadModel::process_request(Request request, RequestRunner& runner) {
  Worker& worker = workers_.emplace_back();
  uint64_t id = request.id;  // kept: `request` moves into the thread
  worker.id = id;
  runner_ = &runner;
  try {
    worker.thread = std::thread([&worker, &runner, request = std::move(request)]() mutable {
      CutWaiter waiter(runner.cut_fd());
      runner.finish_request(request, waiter);
      worker.done = true;
      // Tell the main loop to join this thread (and to accept again if we were at the limit).
      Wakeup::notify_worker_done();
    });
  } catch (const std::system_error& e) {
    // Out of threads: this client is closed and the server carries on.
    workers_.pop_back();
    runner.request_done(id);
    log_error("thread for a new connection: ", e.what());
  }
}

void ThreadModel::collect_finished() {
  for (auto it = workers_.begin(); it != workers_.end();) {
    if (it->done) {
      it->thread.join();  // returns at once: the thread has finished its work
      runner_->request_done(it->id);
      it = workers_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace sockserv
