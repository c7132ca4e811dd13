// One event-loop thread: accept, spawn a fiber per connection, turn the loop until stopped.
#include "event_loop.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "../log.hpp"
#include "../signals.hpp"
#include "../socket.hpp"
#include "worker_stats.hpp"

namespace sockserv {
namespace {

// 256 KiB of address space per connection, of which only the touched pages (a few KiB for an
// idle connection) cost memory. Handlers keep big buffers off the stack (echo: 16 KiB).
constexpr size_t kStackSize = 256 * 1024;

}  // namespace

EventLoop::EventLoop(ServerCore& core, HelperPool& helpers, size_t number, int stop_fd)
    : core_(core),
      helpers_(helpers),
      number_(number),
      stop_fd_(stop_fd),
      released_future_(released_.get_future()) {}

EventLoop::~EventLoop() {
  if (thread_.joinable()) thread_.join();
}

void EventLoop::start() {
  started_ = true;
  thread_ = std::thread([this] { run(); });
}

void EventLoop::run() {
  try {
    FiberContext io(core_.drain(), helpers_, kStackSize);
    Acceptor acceptor = core_.make_acceptor(/*blocking_sockets=*/false, &counts_);
    serve(io, acceptor);
  } catch (const std::exception& e) {
    log_error("event loop ", number_, ": ", e.what());
    stop_listening_on_own_sockets();
  }
  if (!stopping_) released_.set_value();
  cpu_at_end_ = this_thread_cpu_seconds();  // nobody can read its clock once it has ended
  done_ = true;
  Wakeup::notify_worker_done();  // the main loop joins this thread
}

void EventLoop::serve(FiberContext& io, Acceptor& acceptor) {
  watch_listeners(io, acceptor);
  io.watch(stop_fd_, EPOLLIN, [&] {
    stopping_ = true;
    unwatch_listeners(io);
    io.unwatch(stop_fd_);  // it stays readable: level-triggered, it would wake every turn
    released_.set_value();
  });
  while (!stopping_ || io.fibers() > 0) {
    // After EMFILE the acceptor pauses: the listeners leave the epoll until then, or their
    // pending clients would wake this loop in every turn.
    Deadline resume = Deadline::at(acceptor.paused_until());
    io.run_once(accepting_ ? Deadline::never() : resume);
    if (!accepting_ && !stopping_ && resume.expired()) watch_listeners(io, acceptor);
  }
}

void EventLoop::watch_listeners(FiberContext& io, Acceptor& acceptor) {
  for (const Listener& listener : core_.listeners()) {
    if (!is_stream(listener.transport())) continue;  // the main thread answers datagrams
    if (!listener.accepts_for(number_)) continue;    // another loop's own socket on the port
    // EPOLLEXCLUSIVE: on a socket every loop watches (a unix socket, one from systemd), one
    // new client wakes one of the loops waiting, not all of them.
    io.watch(listener.fd(), EPOLLIN | EPOLLEXCLUSIVE,
             [this, &listener, &acceptor, &io] { accept_one(listener, acceptor, io); });
  }
  accepting_ = true;
}

void EventLoop::unwatch_listeners(FiberContext& io) {
  if (!accepting_) return;
  for (const Listener& listener : core_.listeners()) {
    if (is_stream(listener.transport()) && listener.accepts_for(number_)) io.unwatch(listener.fd());
  }
  accepting_ = false;
}

// A loop that failed must not leave clients in the queue of a socket only it accepts from.
// shutdown(2) on a listening socket stops it listening: Linux takes it out of the port's
// group, sends the port's new clients to the other loops, and resets those queued on it.
void EventLoop::stop_listening_on_own_sockets() {
  for (const Listener& listener : core_.listeners()) {
    if (listener.worker() != number_) continue;
    if (::shutdown(listener.fd(), SHUT_RDWR) < 0)
      log_error("event loop ", number_,
                ": shutdown of its listening socket: ", std::strerror(errno));
  }
}

// One connection per report of the listener, as nginx does by default (multi_accept off):
// the listener is watched level-triggered, so while clients wait the next epoll_wait reports
// it again, between the loop's other connections, which a flood of new clients cannot starve.
// Accepting until EAGAIN would cost one accept4 more for every report, and under light load
// a report is one client.
void EventLoop::accept_one(const Listener& listener, Acceptor& acceptor, FiberContext& io) {
  uint64_t taken_before = counts_.accepted.load(std::memory_order_relaxed);
  std::optional<Request> request = acceptor.accept(listener);
  if (request) return start_fiber(std::move(*request), io);
  // Nobody there: another loop took the client (the thundering herd), or it left. A client
  // taken and then refused (--max-per-source, --deny) was there: not an empty wake-up.
  if (counts_.accepted.load(std::memory_order_relaxed) == taken_before)
    counts_.empty_wakeups.fetch_add(1, std::memory_order_relaxed);
  if (Clock::now() < acceptor.paused_until()) unwatch_listeners(io);  // EMFILE: back off
}

void EventLoop::start_fiber(Request request, FiberContext& io) {
  ++in_flight_;
  // std::function wants a copyable callable; the Request (and its socket) is move-only.
  auto shared = std::make_shared<Request>(std::move(request));
  io.spawn([this, &io, shared] {
    core_.finish_request(*shared, io);
    core_.request_done(shared->id);
    --in_flight_;
  });
}

void EventLoop::wait_listeners_released(Millis timeout) {
  if (started_) released_future_.wait_for(timeout);
}

bool EventLoop::join_if_done() {
  if (done_ && thread_.joinable()) thread_.join();
  return joined();
}

WorkerStats EventLoop::stats() const {
  WorkerStats line{.worker = "loop " + std::to_string(number_)};
  line.accepted = counts_.accepted;
  line.empty_wakeups = counts_.empty_wakeups;
  line.cpu_seconds = cpu_at_end_;
  // The thread's own CPU clock: user + system time of this loop alone.
  if (!done_) line.cpu_seconds = thread_cpu_seconds(thread_);
  return line;
}

}  // namespace sockserv
