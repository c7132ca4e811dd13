// Event loops, a helper pool, and the stop: each loop drains itself through the drain timerfd.
#include "epoll.hpp"

#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include <stdexcept>

#include "../error.hpp"
#include "worker_stats.hpp"

namespace sockserv {
namespace {

// Helper threads for offloaded file work, shared by every loop: disk-bound jobs gain
// little from more, and each is a thread of the process like any other.
constexpr size_t kHelperThreads = 4;
// How long begin_stop waits for each loop to let go of the listeners.
constexpr Millis kReleaseWait{1000};

size_t online_cpus() {
  long n = ::sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<size_t>(n) : 1;
}

}  // namespace

EpollModel::EpollModel(const ModelOptions& options)
    : loop_count_(options.workers > 0 ? options.workers : online_cpus()),
      want_stats_(options.stats),
      stop_event_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (!stop_event_) throw_errno("eventfd");
  if (options.accept_lock != AcceptLock::none) {
    throw UsageError(
        "--accept-lock is for prefork and prethread; epoll's loops have a socket each, or share "
        "one with EPOLLEXCLUSIVE");
  }
}

EpollModel::~EpollModel() {
  signal_stop();
  loops_.clear();  // each joins its thread
}

void EpollModel::start(ServerCore& core) {
  helpers_ = std::make_unique<HelperPool>(kHelperThreads);
  for (size_t i = 0; i < loop_count_; ++i) {
    loops_.emplace_back(core, *helpers_, i + 1, stop_event_.get()).start();
  }
}

void EpollModel::process_request(Request, ServerCore&) {
  throw std::logic_error("epoll: the event loops accept; the main thread must not");
}

void EpollModel::collect_finished() {
  // A loop that ended while serving has logged why; the others carry on.
  for (EventLoop& loop : loops_) loop.join_if_done();
}

size_t EpollModel::active() const {
  // Serving: the connections in flight. Stopping: the loop threads still to be joined.
  size_t count = 0;
  for (const EventLoop& loop : loops_) count += stopping_ ? !loop.joined() : loop.in_flight();
  return count;
}

void EpollModel::signal_stop() {
  uint64_t one = 1;
  // Every loop's epoll sees the eventfd readable (it is never read).
  [[maybe_unused]] ssize_t n = ::write(stop_event_.get(), &one, sizeof one);
}

void EpollModel::begin_stop() {
  stopping_ = true;
  signal_stop();
  // The server closes the listeners next: first make sure no loop still uses them.
  for (EventLoop& loop : loops_) loop.wait_listeners_released(kReleaseWait);
}

void EpollModel::drain_over() {
  // Nothing to send: every loop watches the drain timerfd, which has just fired, and resumes
  // each of its suspended fibers with DrainDeadlinePassed.
  signal_stop();
}

bool EpollModel::force_stop() {
  collect_finished();
  // A loop whose fiber ignores the drain (stuck in an offloaded job) cannot be killed.
  for (const EventLoop& loop : loops_) {
    if (!loop.joined()) return false;
  }
  return true;
}

std::vector<WorkerStats> EpollModel::stats() const {
  if (!want_stats_) return {};
  std::vector<WorkerStats> lines;
  for (const EventLoop& loop : loops_) lines.push_back(loop.stats());
  // The total is the whole process: the loops, the helper threads and the main thread.
  return with_process_total(std::move(lines));
}

}  // namespace sockserv
