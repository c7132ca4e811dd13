// EventLoop: one thread of the epoll model. It accepts from its listeners and runs each
// connection's handler as a fiber on its FiberContext, muduo's "one loop per thread".
//
// Each loop accepts from a listening socket of its own on every TCP port the server bound
// (SO_REUSEPORT: the kernel hands each new client to one of them), as ref-epoll does. Sockets
// it cannot multiply (unix sockets, sockets from systemd or inetd) every loop holds in its own
// epoll with EPOLLEXCLUSIVE, so a new client wakes one idle loop rather than all of them.
// A loop accepts one client per report of a listener (level-triggered: one still waiting is
// reported in the next turn). A loop ends once the server stops and its last fiber has ended.
#pragma once

#include <atomic>
#include <cstddef>
#include <future>
#include <thread>

#include "../acceptor.hpp"
#include "../fiber_context.hpp"
#include "../helper_pool.hpp"
#include "model.hpp"

namespace sockserv {

class EventLoop {
 public:
  /// Loop number `number` (from 1, for --stats). `stop_fd` becomes readable when the server
  /// stops (an eventfd shared by the loops, never read).
  EventLoop(ServerCore& core, HelperPool& helpers, size_t number, int stop_fd);
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  /// Starts the thread.
  void start();
  /// After stop_fd fired: waits (at most `timeout`) until the loop has let go of the
  /// listeners, so that the server may close them without racing its epoll_ctl calls.
  void wait_listeners_released(Millis timeout);
  /// True once the thread has ended (it then told the main loop: Wakeup::notify_worker_done).
  bool done() const { return done_; }
  /// Joins an ended thread; true once joined.
  bool join_if_done();
  bool joined() const { return !thread_.joinable() && started_; }
  /// Connections being served by this loop.
  size_t in_flight() const { return in_flight_; }
  /// --stats: accepted, empty wake-ups, the thread's CPU time.
  WorkerStats stats() const;

 private:
  void run();
  void serve(FiberContext& io, Acceptor& acceptor);
  void watch_listeners(FiberContext& io, Acceptor& acceptor);
  void unwatch_listeners(FiberContext& io);
  void stop_listening_on_own_sockets();
  void accept_one(const Listener& listener, Acceptor& acceptor, FiberContext& io);
  void start_fiber(Request request, FiberContext& io);

  ServerCore& core_;
  HelperPool& helpers_;
  size_t number_;
  int stop_fd_;
  bool started_ = false;
  bool stopping_ = false;   // (loop thread) the stop event came: no more accepting
  bool accepting_ = false;  // (loop thread) the listeners are in the epoll
  std::atomic<bool> done_{false};
  std::atomic<size_t> in_flight_{0};
  std::atomic<double> cpu_at_end_{0};  // the thread's CPU seconds, kept once it has ended
  AcceptStats counts_;
  std::promise<void> released_;  // set once the listeners are out of this loop's epoll
  std::future<void> released_future_;
  std::thread thread_;
};

}  // namespace sockserv
