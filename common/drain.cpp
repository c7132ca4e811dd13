// The drain deadline: a timerfd, a flag, and the sockets to shut down when it passes.
#include "drain.hpp"

#include <sys/socket.h>
#include <sys/timerfd.h>

#include "error.hpp"

namespace sockserv {
namespace {

// Signal state of a child process (the only mutable globals besides those of signals.cpp):
// the one connection the child serves, and whether the parent said the drain time is over.
std::atomic<int> g_child_socket{-1};
std::atomic<bool> g_child_drain_passed{false};

void on_drain_signal(int) {
  g_child_drain_passed = true;
  int socket = g_child_socket.load();
  // shutdown(2) is async-signal-safe: a blocking read returns 0, a blocking write EPIPE.
  if (socket >= 0) ::shutdown(socket, SHUT_RDWR);
}

}  // namespace

DrainDeadline::DrainDeadline()
    // A timerfd stays readable once it has fired, so every wait that watches it sees the
    // deadline, and a forked child shares the very same timer with its parent.
    : timer_(::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK)) {
  if (!timer_) throw_errno("timerfd_create");
}

void DrainDeadline::disarm_timer() {
  itimerspec never{};  // a zero it_value disarms: the timer does not fire until armed again
  if (::timerfd_settime(timer_.get(), 0, &never, nullptr) < 0) throw_errno("timerfd_settime");
}

void DrainDeadline::arm(Millis delay) {
  itimerspec spec{};
  // A zero it_value would disarm the timer; one nanosecond means "now".
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(delay).count();
  if (ns <= 0) ns = 1;
  spec.it_value.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
  spec.it_value.tv_nsec = static_cast<long>(ns % 1'000'000'000);
  if (::timerfd_settime(timer_.get(), 0, &spec, nullptr) < 0) throw_errno("timerfd_settime");
  armed_ = true;
}

void DrainDeadline::arm_limit(Millis limit) {
  if (limit.count() > 0) {
    arm(limit);
    return;
  }
  disarm_timer();
  armed_ = true;
}

bool DrainDeadline::passed() const {
  return passed_.load() || g_child_drain_passed.load();
}

void DrainDeadline::fire() {
  passed_ = true;
  std::lock_guard lock(mutex_);
  for (int socket : sockets_) ::shutdown(socket, SHUT_RDWR);
}

void DrainDeadline::watch(int socket) {
  if (in_child_) {
    g_child_socket = socket;
    if (passed()) ::shutdown(socket, SHUT_RDWR);  // the signal came before the socket
    return;
  }
  std::lock_guard lock(mutex_);
  sockets_.insert(socket);
  if (passed_) ::shutdown(socket, SHUT_RDWR);
}

void DrainDeadline::unwatch(int socket) {
  if (in_child_) {
    g_child_socket = -1;
    return;
  }
  std::lock_guard lock(mutex_);
  sockets_.erase(socket);
}

void DrainDeadline::enter_child() {
  in_child_ = true;
  {
    std::lock_guard lock(mutex_);
    sockets_.clear();  // the parent's threads do not exist in this process
  }
  struct sigaction action {};
  action.sa_handler = on_drain_signal;
  sigemptyset(&action.sa_mask);
  // No SA_RESTART: a blocking call returns EINTR and the IoContext checks passed().
  if (::sigaction(kDrainSignal, &action, nullptr) < 0) throw_errno("sigaction");
}

}  // namespace sockserv
