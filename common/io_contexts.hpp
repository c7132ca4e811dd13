// The IoContexts of a server's connections, one per way of waiting (see io.hpp):
//
//   LoopPollContext   iterative   non-blocking sockets and poll(2); the handler runs in the
//                                 main loop's own thread, so its waits also hear signals
//   BlockingContext   fork, thread, prefork, prethread
//                                 blocking sockets with SO_RCVTIMEO/SO_SNDTIMEO: one read(2)
//                                 and one write(2) per echo round trip, as in a textbook
//                                 server; poll(2) only to wait for several things at once
//   FiberContext      epoll       (fiber_context.hpp) coroutines on an event loop
//
// Each watches the server's DrainDeadline, so no connection outlives the drain time, and
// tells it which connections are idle, so a stopping server ends those at once.
#pragma once

#include <functional>

#include "drain.hpp"
#include "io.hpp"

namespace sockserv {

class LoopPollContext : public IoContext {
 public:
  /// `wakeup_fd` readable: call `on_wakeup` (which may start the drain) and keep waiting.
  LoopPollContext(DrainDeadline& drain, int wakeup_fd, std::function<void()> on_wakeup);
  bool wait(std::span<pollfd> fds, Deadline deadline) override;
  void check_drain() override;
  void adopt_socket(int fd, Millis idle_timeout, SocketSetup already) override;
  void release_socket(int fd) override { drain_.unwatch(fd); }
  void set_idle(int fd, bool idle) override { drain_.set_idle(fd, idle); }
  bool stopping() const override { return drain_.stopping(); }

 private:
  DrainDeadline& drain_;
  int wakeup_fd_;
  std::function<void()> on_wakeup_;
};

class BlockingContext : public IoContext {
 public:
  explicit BlockingContext(DrainDeadline& drain) : drain_(drain) {}
  bool wait(std::span<pollfd> fds, Deadline deadline) override;
  void check_drain() override;
  /// Leaves the socket blocking; the idle timeout becomes its receive and send timeout.
  void adopt_socket(int fd, Millis idle_timeout, SocketSetup already) override;
  void release_socket(int fd) override { drain_.unwatch(fd); }
  void set_receive_timeout(int fd, Millis timeout) override;
  void set_idle(int fd, bool idle) override { drain_.set_idle(fd, idle); }
  bool stopping() const override { return drain_.stopping(); }

 private:
  DrainDeadline& drain_;
};

}  // namespace sockserv
