// A thread per request, joined when it ends.
#include "thread.hpp"

#include <system_error>

#include "../io_contexts.hpp"
#include "../log.hpp"
#include "../signals.hpp"

namespace sockserv {

ThreadModel::~ThreadModel() {
  for (Worker& worker : workers_) {
    if (worker.thread.joinable()) worker.thread.join();
  }
}

void ThreadModel::process_request(Request request, ServerCore& core) {
  Worker& worker = workers_.emplace_back();
  uint64_t id = request.id;  // kept: `request` moves into the thread
  worker.id = id;
  Request refused_copy;  // what the access log needs if no thread can be made
  refused_copy.peer = request.peer;
  refused_copy.started = request.started;
  try {
    worker.thread = std::thread([&worker, &core, request = std::move(request)]() mutable {
      BlockingContext io(core.drain());
      core.finish_request(request, io);
      worker.done = true;
      // Tell the main loop to join this thread (and to accept again if we were at the limit).
      Wakeup::notify_worker_done();
    });
  } catch (const std::system_error& e) {
    // Out of threads: this client is closed and the server carries on.
    workers_.pop_back();
    core.request_refused(refused_copy, "limit");
    core.request_done(id);
    log_error("thread for a new connection: ", e.what());
  }
}

void ThreadModel::collect_finished() {
  for (auto it = workers_.begin(); it != workers_.end();) {
    if (it->done) {
      it->thread.join();  // returns at once: the thread has finished its work
      core_->request_done(it->id);
      it = workers_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace sockserv
