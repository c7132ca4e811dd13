// Waiting with the drain deadline in view: poll for the iterative loop, blocking calls for
// the process and thread models.
#include "io_contexts.hpp"

#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <array>
#include <stdexcept>

#include "error.hpp"

namespace sockserv {
namespace {

constexpr const char* kDrainMessage = "server stopping: drain time is over";

// poll(2) on `fds` plus `extra` (-1: none), retried after EINTR with the time that remains.
// Returns the revents of the extras through `extra_ready`.
bool poll_with(std::span<pollfd> fds, std::span<const int> extra, Deadline deadline, IoContext& io,
               std::array<short, 2>& extra_ready) {
  // A handful of descriptors at most: keep them on the stack, this runs for every wait.
  constexpr size_t kMaxWatched = 16;
  if (fds.size() + extra.size() > kMaxWatched)
    throw std::length_error("poll: too many descriptors");
  std::array<pollfd, kMaxWatched> all;
  std::copy(fds.begin(), fds.end(), all.begin());
  for (size_t i = 0; i < extra.size(); ++i) all[fds.size() + i] = {extra[i], POLLIN, 0};
  size_t count = fds.size() + extra.size();
  for (;;) {
    int n = ::poll(all.data(), count, deadline.poll_timeout());
    if (n < 0) {
      if (errno != EINTR) throw_errno("poll");
      io.check_drain();  // the signal may have been the parent's "drain time is over"
      continue;
    }
    if (n == 0 && !deadline.expired()) continue;  // woke up a hair early: wait out the rest
    for (size_t i = 0; i < fds.size(); ++i) fds[i].revents = all[i].revents;
    for (size_t i = 0; i < extra.size(); ++i) extra_ready[i] = all[fds.size() + i].revents;
    return n > 0;
  }
}

bool any_ready(std::span<const pollfd> fds) {
  return std::any_of(fds.begin(), fds.end(), [](const pollfd& p) { return p.revents != 0; });
}

}  // namespace

LoopPollContext::LoopPollContext(DrainDeadline& drain, int wakeup_fd,
                                 std::function<void()> on_wakeup)
    : drain_(drain), wakeup_fd_(wakeup_fd), on_wakeup_(std::move(on_wakeup)) {}

void LoopPollContext::check_drain() {
  if (drain_.passed()) throw DrainDeadlinePassed(kDrainMessage);
}

bool LoopPollContext::wait(std::span<pollfd> fds, Deadline deadline) {
  std::array<int, 2> extra{drain_.fd(), wakeup_fd_};
  std::array<short, 2> ready{};
  for (;;) {
    bool any =
        poll_with(fds, std::span(extra.data(), wakeup_fd_ >= 0 ? 2 : 1), deadline, *this, ready);
    if (!any) return false;
    if (ready[0] != 0) throw DrainDeadlinePassed(kDrainMessage);
    if (ready[1] != 0) {
      on_wakeup_();  // may arm the drain timer; loop to notice it
      if (!any_ready(fds)) continue;
    }
    return true;
  }
}

void LoopPollContext::adopt_socket(int fd, Millis idle_timeout, SocketSetup already) {
  IoContext::adopt_socket(fd, idle_timeout, already);
  drain_.watch(fd);  // a stopping server shuts it for reading while it is idle
}

void BlockingContext::check_drain() {
  if (drain_.passed()) throw DrainDeadlinePassed(kDrainMessage);
}

bool BlockingContext::wait(std::span<pollfd> fds, Deadline deadline) {
  std::array<int, 1> extra{drain_.fd()};
  std::array<short, 2> ready{};
  bool any = poll_with(fds, extra, deadline, *this, ready);
  if (ready[0] != 0) throw DrainDeadlinePassed(kDrainMessage);
  return any;
}

void BlockingContext::adopt_socket(int fd, Millis idle_timeout, SocketSetup already) {
  // The socket stays blocking: a read(2) sleeps in the kernel until data comes, with no
  // poll(2) before it. SO_RCVTIMEO/SO_SNDTIMEO bound that sleep by the idle timeout: the
  // call then fails with EAGAIN and the connection reports the timeout. A TCP connection
  // usually has them already, from its listener (Server::add_listener).
  if (already.timeouts != idle_timeout && !set_socket_timeouts(fd, idle_timeout)) {
    // Not a socket (a test's pipe) or an odd one: fall back to waiting with poll.
    IoContext::adopt_socket(fd, idle_timeout, already);
  }
  drain_.watch(fd);
}

void BlockingContext::set_receive_timeout(int fd, Millis timeout) {
  timeval value = to_timeval(timeout);
  // Not a socket (a test's pipe): its reads wait with poll, which is given the deadline.
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &value, sizeof value) < 0 && errno != ENOTSOCK)
    throw_errno("setsockopt SO_RCVTIMEO");
}

}  // namespace sockserv
