// ThreadModel: a new thread per request. Python's ThreadingMixIn, Stevens' serv06.
//
// Cheaper than a process, but the threads share memory: a crash takes every client down.
// At --max-threads the server stops accepting until a thread ends. Finished threads are
// joined as they end (Python's old ThreadingMixIn kept them all: bpo-37193) and the rest
// at shutdown; none is ever detached.
#pragma once

#include <atomic>
#include <list>
#include <thread>

#include "model.hpp"

namespace sockserv {

class ThreadModel : public Model {
 public:
  explicit ThreadModel(size_t max_threads) : max_threads_(max_threads) {}
  ~ThreadModel() override;
  std::string_view name() const override { return "thread"; }
  void process_request(Request request, RequestRunner& runner) override;
  bool has_capacity() const override { return workers_.size() < max_threads_; }
  void collect_finished() override;
  size_t active() const override { return workers_.size(); }

 private:
  struct Worker {
    std::atomic<bool> done{false};
    std::thread thread;
    uint64_t id = 0;  // the request, for request_done()
  };
  size_t max_threads_;
  RequestRunner* runner_ = nullptr;  // told when a thread is joined
  std::list<Worker> workers_;  // a list: a worker's address stays put while its thread runs
};

}  // namespace sockserv
