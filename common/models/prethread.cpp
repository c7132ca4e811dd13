// A fixed pool of threads that accept (or take from the main thread's queue) and serve.
#include "prethread.hpp"

#include <sys/eventfd.h>

#include "../error.hpp"
#include "../io_contexts.hpp"
#include "../log.hpp"
#include "../signals.hpp"
#include "worker_accept.hpp"
#include "worker_stats.hpp"

namespace sockserv {

PrethreadModel::PrethreadModel(const ModelOptions& options)
    : worker_count_(options.workers > 0 ? options.workers : 16),
      lock_accept_(options.accept_lock == AcceptLock::mutex),
      main_accept_(options.main_accept),
      queue_size_(options.queue_size),
      want_stats_(options.stats),
      stop_event_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (!stop_event_) throw_errno("eventfd");
  if (options.accept_lock == AcceptLock::flock) {
    throw UsageError("--accept-lock flock is for prefork's processes; threads use mutex");
  }
}

PrethreadModel::~PrethreadModel() {
  begin_stop();
  for (Worker& worker : workers_) {
    if (worker.thread.joinable()) worker.thread.join();
  }
}

void PrethreadModel::start(ServerCore& core) {
  for (size_t i = 0; i < worker_count_; ++i) {
    Worker& worker = workers_.emplace_back();
    worker.number = i + 1;
    worker.thread = std::thread([this, &worker, &core] { run_worker(worker, core); });
  }
}

void PrethreadModel::run_worker(Worker& worker, ServerCore& core) {
  BlockingContext io(core.drain());
  auto serve = [&](Request& request) {
    ++busy_;
    core.finish_request(request, io);
    core.request_done(request.id);
    --busy_;
  };
  try {
    if (main_accept_) {
      while (std::optional<Request> request = take_queued()) serve(*request);
    } else {
      Acceptor acceptor = core.make_acceptor(/*blocking_sockets=*/true, &worker.counts);
      WorkerAccept waiting(core.listeners(), stop_event_.get());
      auto stopping = [this] { return stopping_.load(); };
      for (;;) {
        std::optional<Request> request;
        {
          // serv07: one thread at a time waits in accept; the others wait for the mutex.
          std::unique_lock lock(accept_mutex_, std::defer_lock);
          if (lock_accept_) lock.lock();
          request = waiting.next(acceptor, stopping);
        }
        if (!request) break;
        serve(*request);
      }
    }
  } catch (const std::exception& e) {
    log_error("worker thread: ", e.what());
  }
  worker.cpu_at_end = this_thread_cpu_seconds();
  worker.done = true;
  Wakeup::notify_worker_done();  // the main loop joins this thread
}

void PrethreadModel::process_request(Request request, ServerCore&) {
  {
    std::lock_guard lock(queue_mutex_);
    queue_.push_back(std::move(request));
  }
  queue_ready_.notify_one();
}

std::optional<Request> PrethreadModel::take_queued() {
  std::unique_lock lock(queue_mutex_);
  queue_ready_.wait(lock, [this] { return !queue_.empty() || stopping_; });
  if (queue_.empty()) return std::nullopt;  // stopping, and nothing left to serve
  bool was_full = queue_.size() >= queue_size_;
  Request request = std::move(queue_.front());
  queue_.pop_front();
  // A full queue made the main loop stop accepting and sleep; there is room again, so wake it
  // (the same poke as a finished worker's: it then checks has_capacity()).
  if (was_full) Wakeup::notify_worker_done();
  return request;
}

bool PrethreadModel::has_capacity() const {
  if (!main_accept_) return true;
  std::lock_guard lock(queue_mutex_);
  return queue_.size() < queue_size_;
}

size_t PrethreadModel::active() const {
  // Serving: the connections in flight. Stopping: the threads still to be joined.
  return stopping_ ? workers_.size() : busy_.load();
}

void PrethreadModel::begin_stop() {
  {
    std::lock_guard lock(queue_mutex_);
    stopping_ = true;
  }
  queue_ready_.notify_all();
  uint64_t one = 1;
  // Every worker waiting in epoll_wait sees the eventfd readable (it is never read).
  [[maybe_unused]] ssize_t n = ::write(stop_event_.get(), &one, sizeof one);
}

void PrethreadModel::collect_finished() {
  for (auto it = workers_.begin(); it != workers_.end();) {
    if (it->done) {
      it->thread.join();
      // Its clock ended with it: keep what it said last, so the report at exit has it too.
      if (want_stats_) ended_.push_back(stats_line(*it, it->cpu_at_end));
      if (!stopping_) log_error("a worker thread ended early; the pool is one smaller");
      it = workers_.erase(it);
    } else {
      ++it;
    }
  }
}

WorkerStats PrethreadModel::stats_line(const Worker& worker, double cpu) const {
  return WorkerStats{.worker = "thread " + std::to_string(worker.number),
                     .accepted = worker.counts.accepted,
                     .empty_wakeups = worker.counts.empty_wakeups,
                     .cpu_seconds = cpu};
}

std::vector<WorkerStats> PrethreadModel::stats() const {
  if (!want_stats_) return {};
  // Threads that have ended first (all of them, at exit), then the running ones.
  std::vector<WorkerStats> lines = ended_;
  for (const Worker& worker : workers_) {
    lines.push_back(stats_line(worker, thread_cpu_seconds(worker.thread)));
  }
  return with_process_total(std::move(lines));
}

}  // namespace sockserv
