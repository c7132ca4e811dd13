// WorkerAccept: how a pool worker (prefork process, prethread thread) waits for and takes
// the next connection from the shared listeners.
//
// Each worker has its own epoll instance holding the listeners with EPOLLEXCLUSIVE, so the
// kernel wakes one waiting worker per new client instead of all of them. The worker first
// tries accept4 without waiting (under load a client is usually there already) and waits only
// when there is none: the same system calls as a worker blocking in accept (UNP serv02), yet
// it can also hear "stop" and never hangs in accept4 when another worker wins the client.
#pragma once

#include <functional>
#include <optional>
#include <vector>

#include "../acceptor.hpp"
#include "../fd.hpp"

namespace sockserv {

class WorkerAccept {
 public:
  /// `listeners`: the stream listeners. `wake_fd`: readable when the worker must stop (-1:
  /// none; a signal interrupting the wait does that for processes).
  WorkerAccept(const std::vector<Listener>& listeners, int wake_fd);
  /// The next admitted connection, or nullopt once `stopping()` is true.
  std::optional<Request> next(Acceptor& acceptor, const std::function<bool()>& stopping);

 private:
  /// Sleeps until `until` or the wake descriptor fires, without watching the listeners.
  void pause(Clock::time_point until) const;

  const std::vector<Listener>& listeners_;
  int wake_fd_;
  UniqueFd epoll_;
  size_t next_listener_ = 0;  // round robin over several listeners
};

}  // namespace sockserv
