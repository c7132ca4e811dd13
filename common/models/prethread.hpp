// PrethreadModel: a pool of threads made in advance. Stevens' serv07 and serv08.
//
// --workers N threads each accept and serve one connection at a time (serv07; with
// --accept-lock mutex they take turns at accept behind one mutex, as serv07 does). With
// --main-accept the main thread accepts into a bounded queue and the workers take from it
// (serv08): when the queue is full the main thread stops accepting, so new clients wait in
// the listen backlog instead of being dropped. No thread is created per connection.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <list>
#include <mutex>
#include <thread>

#include "../acceptor.hpp"
#include "../fd.hpp"
#include "model.hpp"

namespace sockserv {

class PrethreadModel : public Model {
 public:
  explicit PrethreadModel(const ModelOptions& options);
  ~PrethreadModel() override;
  std::string_view name() const override { return "prethread"; }
  IoStyle io_style() const override { return IoStyle::blocking; }
  bool main_thread_accepts() const override { return main_accept_; }
  void start(ServerCore& core) override;
  void process_request(Request request, ServerCore& core) override;
  bool has_capacity() const override;
  void collect_finished() override;
  size_t active() const override;
  void begin_stop() override;
  bool force_stop() override { return workers_.empty(); }
  std::vector<WorkerStats> stats() const override;

 private:
  struct Worker {
    size_t number = 0;  // 1, 2, ...: "thread N" in --stats
    std::thread thread;
    AcceptStats counts;
    double cpu_at_end = 0;  // written by the thread itself just before `done`
    std::atomic<bool> done{false};
  };
  void run_worker(Worker& worker, ServerCore& core);
  WorkerStats stats_line(const Worker& worker, double cpu) const;
  std::optional<Request> take_queued();

  size_t worker_count_;
  bool lock_accept_;
  bool main_accept_;
  size_t queue_size_;
  bool want_stats_;
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> busy_{0};
  UniqueFd stop_event_;             // eventfd: readable once stopping, wakes workers in epoll_wait
  std::mutex accept_mutex_;         // --accept-lock mutex
  mutable std::mutex queue_mutex_;  // --main-accept: guards queue_
  std::condition_variable queue_ready_;
  std::deque<Request> queue_;
  std::list<Worker> workers_;       // a list: a worker's address stays put while its thread runs
  std::vector<WorkerStats> ended_;  // --stats: workers already joined, one line each
};

}  // namespace sockserv
