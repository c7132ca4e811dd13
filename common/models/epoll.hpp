// EpollModel: --workers event-loop threads, each connection a coroutine on one of them.
// muduo's "one loop per thread" reactors, with gevent's trick for the handlers.
//
// The handlers are the same blocking-style code every model runs: read some, write all,
// wait for a pipe. Under this model each connection's handler runs as a fiber (a stackful
// coroutine) on an event loop, and where a blocking model would sleep in read(2), the fiber
// suspends and the loop serves other connections meanwhile (FiberContext). Thousands of
// idle connections cost a few KiB each instead of a thread each; work that would block a loop
// (opening, hashing, renaming files) goes to a few helper threads (HelperPool).
#pragma once

#include <atomic>
#include <list>
#include <memory>

#include "../fd.hpp"
#include "../helper_pool.hpp"
#include "event_loop.hpp"
#include "model.hpp"

namespace sockserv {

class EpollModel : public Model {
 public:
  explicit EpollModel(const ModelOptions& options);
  ~EpollModel() override;
  std::string_view name() const override { return "epoll"; }
  IoStyle io_style() const override { return IoStyle::fiber; }
  bool main_thread_accepts() const override { return false; }
  /// A socket per loop on each TCP port the server binds (SO_REUSEPORT), as in ref-epoll.
  size_t listeners_per_port() const override { return loop_count_; }
  void start(ServerCore& core) override;
  /// Never called: the loops accept streams, and the main thread answers datagrams itself.
  void process_request(Request request, ServerCore& core) override;
  void collect_finished() override;
  size_t active() const override;
  void begin_stop() override;
  void drain_over() override;
  bool force_stop() override;
  std::vector<WorkerStats> stats() const override;

 private:
  void signal_stop();

  size_t loop_count_;
  bool want_stats_;
  bool stopping_ = false;
  UniqueFd stop_event_;                  // eventfd: readable once stopping, in every loop's epoll
  std::unique_ptr<HelperPool> helpers_;  // before loops_: it must outlive them
  std::list<EventLoop> loops_;           // a list: a loop's address stays put while it runs
};

}  // namespace sockserv
