// FiberContext: the IoContext of the epoll model. One per event-loop thread: it owns the
// loop's epoll instance, its fibers (one per connection) and its timers, and it is where a
// blocking-style handler's "wait" becomes "suspend this fiber until epoll says ready".
//
// What blocks, and where it goes under this context (checked handler by handler):
//   sockets        non-blocking, registered once, edge-triggered; reads and writes that
//                  say EAGAIN suspend the fiber (io.cpp, Connection)
//   pipes, pidfds, eventfds   added to epoll for one wait and removed after (cmd-server's
//                  command output and exit, chat's hub eventfd)
//   files          open, openat2, readdir+fstatat, sha256, rename, fsync, writes of an
//                  upload: offload() to the helper threads (file-server, beneath)
//   sendfile(2)    stays on the loop: the offloaded readahead(2) before it puts the file in
//                  the page cache, so it copies from memory
//   posix_spawn    stays: vfork-style, the loop waits only until the child execs; the exit
//                  is awaited on a pidfd, and waitpid runs once the pidfd said so (or, when
//                  the connection fails mid-command, right after SIGKILL: microseconds)
//   ThreadHub      its mutex is held for a few list operations: fine
//   logging        a write(2) to stderr or syslog per line, as in every model
#pragma once

#include <sys/epoll.h>

#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "drain.hpp"
#include "fd.hpp"
#include "fiber.hpp"
#include "helper_pool.hpp"
#include "io.hpp"

namespace sockserv {

class FiberContext : public IoContext {
 public:
  /// Fibers get stacks of `stack_size` bytes (virtual: only touched pages cost memory).
  FiberContext(DrainDeadline& drain, HelperPool& helpers, size_t stack_size);
  ~FiberContext() override;
  FiberContext(const FiberContext&) = delete;
  FiberContext& operator=(const FiberContext&) = delete;

  // IoContext, for the handlers of this loop's fibers. One fiber at a time may wait on a
  // given descriptor (each connection waits on its own socket, pipes, pidfd and eventfd);
  // a second waiter gets std::logic_error.
  bool wait(std::span<pollfd> fds, Deadline deadline) override;
  void check_drain() override;
  void offload(const std::function<void()>& work) override;
  void adopt_socket(int fd, Millis idle_timeout, SocketSetup already) override;
  void release_socket(int fd) override;
  void would_block(int fd, short events) override;
  bool may_read(int fd) const override;
  void read_was_short(int fd) override;
  void set_idle(int fd, bool idle) override { drain_.set_idle(fd, idle); }
  bool stopping() const override { return drain_.stopping(); }

  // For the loop thread that owns this context.
  /// Starts `body` as a fiber; it first runs during the next run_once().
  void spawn(std::function<void()> body);
  /// Fibers not yet ended.
  size_t fibers() const { return tasks_.size(); }
  /// Watches a descriptor of the loop's own (a listener): `on_ready` runs on the loop, outside
  /// any fiber, each time epoll reports it. `events` as for epoll_ctl (EPOLLEXCLUSIVE...).
  void watch(int fd, uint32_t events, std::function<void()> on_ready);
  void unwatch(int fd);
  /// One turn of the loop: epoll_wait until something is ready, the nearest deadline, or
  /// `limit`; then resumes every fiber that can go on, until each waits again or ends.
  void run_once(Deadline limit);
  /// True once the drain time is over (the drain timerfd fired): every wait now throws.
  bool drained() const { return drained_; }

 private:
  struct Task;
  using Timers = std::multimap<Clock::time_point, Task*>;
  // What the loop knows of one descriptor number.
  struct Watch {
    // socket: a connection, in epoll from adopt to release. transient: in epoll for one
    // wait. file: a regular file in a wait (epoll refuses those; poll calls them ready).
    enum class Kind : uint8_t { none, socket, transient, file } kind = Kind::none;
    short ready = 0;         // poll bits seen since the last EAGAIN (sockets) or this wait
    short wanted = 0;        // what the waiting fiber asked for
    Task* waiter = nullptr;  // the fiber suspended on it
    bool drained = false;    // a read came back short: nothing to read until epoll says so
    // Urgent data or the end of the stream was reported (EPOLLPRI, EPOLLRDHUP, HUP, ERR): a
    // read may now stop short with more to read and no new edge to come (read_was_short).
    bool no_shortcut = false;
  };

  Task& current();
  Watch& watch_of(int fd);
  bool take_ready(std::span<pollfd> fds);
  void begin_wait(Task& task, std::span<pollfd> fds, Deadline deadline);
  void end_wait(Task& task, std::span<pollfd> fds);
  void add_transient(Task& task, pollfd& entry);
  void dispatch(const epoll_event& event);
  void expire_timers();
  void on_drain();
  void on_offload_done();
  void wake(Task& task);
  void run_ready();
  void finish_all();
  int epoll_timeout(Deadline limit) const;

  DrainDeadline& drain_;
  HelperPool& helpers_;
  StackPool stacks_;
  UniqueFd epoll_;
  UniqueFd offload_done_;       // eventfd: a helper thread finished a job of this loop
  bool drained_ = false;        // the drain timerfd fired: every wait now throws
  std::vector<Watch> watches_;  // indexed by descriptor number
  std::unordered_map<int, std::function<void()>> loop_fds_;  // listeners
  Timers timers_;                                            // the timer heap: waits by deadline
  std::list<Task> tasks_;        // every fiber of this loop (a list: addresses stay put)
  std::vector<Task*> runnable_;  // fibers to resume in this turn
  Task* current_ = nullptr;      // the fiber running now (null: the loop itself)
  std::mutex done_mutex_;        // guards done_: helper threads add, the loop takes
  std::vector<Task*> done_;      // fibers whose offloaded job has ended
};

}  // namespace sockserv
