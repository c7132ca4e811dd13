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
  explicit ThreadModel(const ModelOptions& options) : max_threads_(options.max_threads) {}
  ~ThreadModel() override;
  std::string_view name() const override { return "thread"; }
  IoStyle io_style() const override { return IoStyle::blocking; }
  void start(ServerCore& core) override { core_ = &core; }
  void process_request(Request request, ServerCore& core) override;
  bool has_capacity() const override { return workers_.size() < max_threads_; }
  void collect_finished() override;
  size_t active() const override { return workers_.size(); }
  /// A thread cannot be killed: false while any still runs past the drain time.
  bool force_stop() override { return workers_.empty(); }

 private:
  struct Worker {
    std::atomic<bool> done{false};
    std::thread thread;
    uint64_t id = 0;  // the request, for request_done()
  };
  size_t max_threads_;
  ServerCore* core_ = nullptr;  // told when a thread is joined
  std::list<Worker> workers_;   // a list: a worker's address stays put while its thread runs
};

}  // namespace sockserv
