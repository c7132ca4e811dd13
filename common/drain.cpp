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
std::atomic<bool> g_child_idle{true};       // its connection waits for a new message
std::atomic<bool> g_child_stopping{false};  // the parent said SIGTERM: the stop has begun

void on_drain_signal(int) {
  g_child_drain_passed = true;
  int socket = g_child_socket.load();
  // shutdown(2) is async-signal-safe: a blocking read returns 0, a blocking write EPIPE.
  if (socket >= 0) ::shutdown(socket, SHUT_RDWR);
}

void on_stop_signal(int) {
  DrainDeadline::stop_in_child();
}

// SHUT_RD only: a read returns what is queued, then end of file; a reply still goes out.
void shut_for_reading(int socket) {
  ::shutdown(socket, SHUT_RD);
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
  for (const auto& [socket, idle] : sockets_) ::shutdown(socket, SHUT_RDWR);
}

void DrainDeadline::begin_stopping() {
  std::lock_guard lock(mutex_);
  stopping_ = true;
  for (const auto& [socket, idle] : sockets_) {
    if (idle) shut_for_reading(socket);
  }
}

bool DrainDeadline::stopping() const {
  if (in_child_) return g_child_stopping.load();
  std::lock_guard lock(mutex_);
  return stopping_;
}

void DrainDeadline::stop_in_child() {
  // Flag first, then look: set_idle() does the opposite, so one of the two always shuts an
  // idle socket, whichever runs first.
  g_child_stopping = true;
  int socket = g_child_socket.load();
  if (socket >= 0 && g_child_idle.load()) shut_for_reading(socket);
}

void DrainDeadline::watch(int socket) {
  if (in_child_) {
    g_child_idle = true;
    g_child_socket = socket;
    if (passed()) ::shutdown(socket, SHUT_RDWR);  // the signal came before the socket
    if (g_child_stopping) shut_for_reading(socket);
    return;
  }
  std::lock_guard lock(mutex_);
  sockets_.try_emplace(socket, true);
  if (passed_) ::shutdown(socket, SHUT_RDWR);
  if (stopping_ && sockets_[socket]) shut_for_reading(socket);
}

void DrainDeadline::unwatch(int socket) {
  if (in_child_) {
    g_child_socket = -1;
    return;
  }
  std::lock_guard lock(mutex_);
  sockets_.erase(socket);
}

void DrainDeadline::set_idle(int socket, bool idle) {
  if (in_child_) {
    g_child_idle = idle;
    if (idle && g_child_stopping) shut_for_reading(socket);
    return;
  }
  std::lock_guard lock(mutex_);
  auto entry = sockets_.find(socket);
  if (entry == sockets_.end()) return;
  entry->second = idle;
  if (idle && stopping_) shut_for_reading(socket);
}

void DrainDeadline::enter_child() {
  // From here on every method answers from the child's own flags (g_child_*), never from
  // sockets_ or mutex_: they are the parent's, whose threads do not exist in this process
  // (a mutex one of them held at fork() would stay locked here forever).
  in_child_ = true;
  struct sigaction action {};
  action.sa_handler = on_drain_signal;
  sigemptyset(&action.sa_mask);
  // No SA_RESTART: a blocking call returns EINTR and the IoContext checks passed().
  if (::sigaction(kDrainSignal, &action, nullptr) < 0) throw_errno("sigaction");
  // SIGTERM from the parent: the stop has begun (the parent's own handler was dropped).
  action.sa_handler = on_stop_signal;
  if (::sigaction(SIGTERM, &action, nullptr) < 0) throw_errno("sigaction");
}

}  // namespace sockserv
