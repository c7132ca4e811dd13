// Waiting for a client in a pool worker: accept first, epoll_wait only when none is there.
#include "worker_accept.hpp"

#include <poll.h>
#include <sys/epoll.h>

#include <cerrno>

#include "../error.hpp"
#include "../socket.hpp"

namespace sockserv {

WorkerAccept::WorkerAccept(const std::vector<Listener>& listeners, int wake_fd)
    : listeners_(listeners), wake_fd_(wake_fd), epoll_(::epoll_create1(EPOLL_CLOEXEC)) {
  if (!epoll_) throw_errno("epoll_create1");
  for (const Listener& listener : listeners_) {
    if (!is_stream(listener.transport())) continue;
    // EPOLLEXCLUSIVE: one new client wakes one waiting worker, not the whole pool.
    epoll_event event{EPOLLIN | EPOLLEXCLUSIVE, {.fd = listener.fd()}};
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, listener.fd(), &event) < 0)
      throw_errno("epoll_ctl (listener)");
  }
  if (wake_fd >= 0) {
    epoll_event event{EPOLLIN, {.fd = wake_fd}};
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wake_fd, &event) < 0)
      throw_errno("epoll_ctl (wake)");
  }
}

std::optional<Request> WorkerAccept::next(Acceptor& acceptor,
                                          const std::function<bool()>& stopping) {
  bool woken = false;
  while (!stopping()) {
    uint64_t taken_before = acceptor.stats() != nullptr ? acceptor.stats()->accepted.load() : 0;
    for (size_t tried = 0; tried < listeners_.size(); ++tried) {
      const Listener& listener = listeners_[next_listener_];
      next_listener_ = (next_listener_ + 1) % listeners_.size();
      if (!is_stream(listener.transport())) continue;
      if (std::optional<Request> request = acceptor.accept(listener)) return request;
    }
    if (Clock::now() < acceptor.paused_until()) {
      // Out of descriptors: the listeners stay readable (level-triggered) while clients wait
      // in the backlog, so epoll_wait would return at once, round after round: a busy loop.
      pause(acceptor.paused_until());
      woken = false;
      continue;
    }
    // Woken for a client, and another worker had taken it: the thundering herd, counted. (A
    // client taken and then refused by the access rules was there: not counted.)
    if (woken && acceptor.stats() != nullptr && acceptor.stats()->accepted.load() == taken_before)
      acceptor.stats()->empty_wakeups.fetch_add(1);
    epoll_event events[4];
    // Sleep until a listener has a client, the wake descriptor fires, or a signal comes.
    int n = ::epoll_wait(epoll_.get(), events, 4, 1000);
    if (n < 0 && errno != EINTR) throw_errno("epoll_wait");
    woken = n > 0;
  }
  return std::nullopt;
}

void WorkerAccept::pause(Clock::time_point until) const {
  pollfd wake{wake_fd_, POLLIN, 0};  // poll ignores a negative descriptor: then only a sleep
  auto left = std::chrono::duration_cast<Millis>(until - Clock::now()).count() + 1;
  // EINTR is fine here: the caller checks its stop flag and, if still paused, pauses again.
  if (::poll(&wake, 1, static_cast<int>(left)) < 0 && errno != EINTR) throw_errno("poll (pause)");
}

}  // namespace sockserv
