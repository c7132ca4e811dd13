// Waiting as a fiber: epoll for readiness, a timer heap for deadlines, an eventfd for
// offloaded jobs, the drain timerfd for the end.
#include "fiber_context.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <optional>
#include <stdexcept>

#include "error.hpp"
#include "log.hpp"

namespace sockserv {
namespace {

constexpr const char* kDrainMessage = "server stopping: drain time is over";
constexpr size_t kKeptStacks = 64;   // per loop: enough for bursts of short connections
constexpr int kEventsPerTurn = 256;  // epoll events taken per epoll_wait

// epoll's bits as poll's (EPOLLIN == POLLIN and so on, on Linux). A peer's FIN (EPOLLRDHUP)
// counts as readable: the next read returns end of file.
short to_poll_bits(uint32_t events) {
  short bits = static_cast<short>(events & (EPOLLIN | EPOLLOUT | EPOLLPRI | EPOLLERR | EPOLLHUP));
  if ((events & EPOLLRDHUP) != 0) bits |= POLLIN;
  return bits;
}

void add_to_epoll(int epoll, int fd, uint32_t events) {
  epoll_event event{};
  event.events = events;
  event.data.fd = fd;
  if (::epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event) < 0)
    throw_errno("epoll_ctl ADD " + std::to_string(fd));
}

void remove_from_epoll(int epoll, int fd) {
  // Before close: epoll forgets a descriptor only when its last duplicate closes, and the
  // number may be reused at once by the next accept.
  ::epoll_ctl(epoll, EPOLL_CTL_DEL, fd, nullptr);
}

}  // namespace

struct FiberContext::Task {
  Task(StackPool& stacks, std::function<void()> body) : fiber(stacks, std::move(body)) {}
  Fiber fiber;
  std::list<Task>::iterator self;
  bool queued = false;     // in runnable_
  bool waiting = false;    // suspended in wait(): the drain wakes it (an offload is not)
  bool timed_out = false;  // its deadline passed
  std::optional<Timers::iterator> timer;
};

FiberContext::FiberContext(DrainDeadline& drain, HelperPool& helpers, size_t stack_size)
    : drain_(drain),
      helpers_(helpers),
      stacks_(stack_size, kKeptStacks),
      epoll_(::epoll_create1(EPOLL_CLOEXEC)),
      offload_done_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (!epoll_) throw_errno("epoll_create1");
  if (!offload_done_) throw_errno("eventfd");
  add_to_epoll(epoll_.get(), offload_done_.get(), EPOLLIN);
  // The drain timerfd stays readable once fired, in every loop that watches it; each loop
  // removes it on the first report (on_drain), or level-triggering would report it forever.
  add_to_epoll(epoll_.get(), drain_.fd(), EPOLLIN);
}

FiberContext::~FiberContext() {
  try {
    finish_all();
  } catch (const std::exception& e) {
    log_error("event loop: ", e.what());
    std::terminate();  // a suspended fiber cannot be destroyed without unwinding it blindly
  }
}

// Fibers still alive when the loop goes (an error left its loop early): end them as the drain
// would, so that each unwinds through its own code, with its handler's catch blocks.
void FiberContext::finish_all() {
  if (tasks_.empty()) return;
  if (!drained_) on_drain();
  while (!tasks_.empty()) run_once(Deadline::after(Millis(100)));
}

FiberContext::Task& FiberContext::current() {
  if (current_ == nullptr) throw std::logic_error("FiberContext: a wait outside any fiber");
  return *current_;
}

FiberContext::Watch& FiberContext::watch_of(int fd) {
  if (static_cast<size_t>(fd) >= watches_.size()) watches_.resize(static_cast<size_t>(fd) * 2 + 64);
  return watches_[static_cast<size_t>(fd)];
}

void FiberContext::check_drain() {
  if (drained_ || drain_.passed()) throw DrainDeadlinePassed(kDrainMessage);
}

bool FiberContext::wait(std::span<pollfd> fds, Deadline deadline) {
  check_drain();
  Task& task = current();
  // A socket that epoll reported ready and that has not said EAGAIN since is still ready:
  // no system call, no switch (the echo of a large write goes on at once).
  if (take_ready(fds)) return true;
  if (deadline.expired()) return false;
  begin_wait(task, fds, deadline);
  if (!take_ready(fds)) task.fiber.suspend();  // regular files are ready without a switch
  bool ready = take_ready(fds);
  end_wait(task, fds);
  check_drain();
  return ready;  // not ready: woken by the deadline
}

// The poll(2) result of `fds` from what epoll has reported so far; true if any is ready.
bool FiberContext::take_ready(std::span<pollfd> fds) {
  bool any = false;
  for (pollfd& entry : fds) {
    entry.revents = 0;
    if (entry.fd < 0) continue;  // as poll(2): negative descriptors are ignored
    const Watch& w = watch_of(entry.fd);
    entry.revents = static_cast<short>(w.ready & (entry.events | POLLHUP | POLLERR));
    any |= entry.revents != 0;
  }
  return any;
}

void FiberContext::begin_wait(Task& task, std::span<pollfd> fds, Deadline deadline) {
  task.waiting = true;
  task.timed_out = false;
  try {
    for (pollfd& entry : fds) {
      if (entry.fd < 0) continue;
      Watch& w = watch_of(entry.fd);
      if (w.kind == Watch::Kind::none) {
        add_transient(task, entry);
      } else if (w.waiter != nullptr) {
        throw std::logic_error("two waits on descriptor " + std::to_string(entry.fd));
      }
      w.waiter = &task;
      w.wanted = entry.events;
    }
  } catch (...) {
    end_wait(task, fds);
    throw;
  }
  if (!deadline.is_never()) task.timer = timers_.emplace(deadline.when(), &task);
}

// A pipe, pidfd or eventfd joins epoll for this one wait, level-triggered: if it is ready
// already, the next epoll_wait says so. Its number may belong to something else next time.
void FiberContext::add_transient(Task& task, pollfd& entry) {
  Watch& w = watch_of(entry.fd);
  epoll_event event{};
  event.events = ((entry.events & POLLIN) != 0 ? EPOLLIN : 0u) |
                 ((entry.events & POLLOUT) != 0 ? EPOLLOUT : 0u);
  event.data.fd = entry.fd;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, entry.fd, &event) == 0) {
    w = {Watch::Kind::transient, 0, 0, &task};
  } else if (errno == EPERM) {
    // A regular file: epoll refuses it, and poll(2) would call it always ready.
    w = {Watch::Kind::file, static_cast<short>(entry.events & (POLLIN | POLLOUT)), 0, &task};
  } else {
    throw_errno("epoll_ctl ADD " + std::to_string(entry.fd));
  }
}

void FiberContext::end_wait(Task& task, std::span<pollfd> fds) {
  task.waiting = false;
  if (task.timer) {
    timers_.erase(*task.timer);
    task.timer.reset();
  }
  for (const pollfd& entry : fds) {
    if (entry.fd < 0) continue;
    Watch& w = watch_of(entry.fd);
    if (w.waiter != &task) continue;
    if (w.kind == Watch::Kind::transient) remove_from_epoll(epoll_.get(), entry.fd);
    if (w.kind == Watch::Kind::socket) {
      w.waiter = nullptr;  // its readiness stays known: the socket stays in epoll
      w.wanted = 0;
    } else {
      w = {};
    }
  }
}

void FiberContext::adopt_socket(int fd, Millis, SocketSetup already) {
  Watch& w = watch_of(fd);
  if (w.kind == Watch::Kind::socket) return;  // again after set_idle_timeout: deadlines differ only
  if (!already.nonblocking) set_nonblocking(fd, true);
  // Edge-triggered, for reading and writing at once, from accept to close: one epoll_ctl per
  // connection instead of one per wait. epoll reports each change of state once; the context
  // remembers it (Watch::ready) until a read or write says EAGAIN (would_block), so a wait
  // never misses data that came while the fiber was busy, and never sleeps on a stale edge.
  // Level-triggered would report a readable socket in every turn while its fiber is busy
  // elsewhere (writing, offloading), unless each wait paid an EPOLL_CTL_MOD.
  // EPOLLPRI: urgent data (read_was_short says why it matters).
  add_to_epoll(epoll_.get(), fd, EPOLLIN | EPOLLPRI | EPOLLOUT | EPOLLRDHUP | EPOLLET);
  w = {.kind = Watch::Kind::socket};
  // A stopping server shuts it for reading while it is idle: epoll then reports it readable.
  drain_.watch(fd);
}

void FiberContext::release_socket(int fd) {
  Watch& w = watch_of(fd);
  if (w.kind != Watch::Kind::socket) return;
  remove_from_epoll(epoll_.get(), fd);
  drain_.unwatch(fd);
  w = {};
}

void FiberContext::would_block(int fd, short events) {
  Watch& w = watch_of(fd);
  if (w.kind == Watch::Kind::socket) w.ready = static_cast<short>(w.ready & ~events);
}

bool FiberContext::may_read(int fd) const {
  return fd < 0 || static_cast<size_t>(fd) >= watches_.size() ||
         !watches_[static_cast<size_t>(fd)].drained;
}

void FiberContext::read_was_short(int fd) {
  Watch& w = watch_of(fd);
  // A short read of a stream socket means its queue was empty then (TCP and unix streams stop
  // early only when no data is left), and data that comes later raises a new edge: so the
  // next read can wait for that edge instead of trying first and failing (nginx's
  // ngx_unix_recv does the same). Two exceptions, both reported by the event that woke the
  // reader, and then the shortcut is off for good:
  // - urgent (out-of-band) data: a read stops short at its mark, with bytes still queued
  //   behind it (EPOLLPRI);
  // - the end of the stream: a read returns the last bytes short, and the end of file that
  //   the next read would return raises no new edge (EPOLLRDHUP; or HUP, ERR).
  if (w.kind != Watch::Kind::socket || w.no_shortcut) return;
  w.drained = true;
  w.ready = static_cast<short>(w.ready & ~POLLIN);
}

void FiberContext::offload(const std::function<void()>& work) {
  if (current_ == nullptr) return work();  // not in a fiber: nobody else to serve meanwhile
  Task& task = *current_;
  std::exception_ptr error;
  helpers_.submit([this, &work, &error, &task] {
    try {
      work();
    } catch (...) {
      error = std::current_exception();
    }
    // Both under the lock: once the loop has seen this task, nothing here touches `this`.
    std::lock_guard lock(done_mutex_);
    done_.push_back(&task);
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(offload_done_.get(), &one, sizeof one);
  });
  task.fiber.suspend();  // only on_offload_done resumes it: the job may use this stack
  if (error) std::rethrow_exception(error);
}

void FiberContext::spawn(std::function<void()> body) {
  Task& task = tasks_.emplace_back(stacks_, std::move(body));
  task.self = std::prev(tasks_.end());
  wake(task);
}

void FiberContext::watch(int fd, uint32_t events, std::function<void()> on_ready) {
  add_to_epoll(epoll_.get(), fd, events);
  loop_fds_[fd] = std::move(on_ready);
}

void FiberContext::unwatch(int fd) {
  if (loop_fds_.erase(fd) > 0) remove_from_epoll(epoll_.get(), fd);
}

void FiberContext::run_once(Deadline limit) {
  run_ready();
  std::array<epoll_event, kEventsPerTurn> events;
  int n = ::epoll_wait(epoll_.get(), events.data(), kEventsPerTurn, epoll_timeout(limit));
  if (n < 0 && errno != EINTR) throw_errno("epoll_wait");  // EINTR: a signal for the main thread
  for (int i = 0; i < n; ++i) dispatch(events[static_cast<size_t>(i)]);
  expire_timers();
  run_ready();
}

int FiberContext::epoll_timeout(Deadline limit) const {
  if (!runnable_.empty()) return 0;
  Deadline next = limit;
  if (!timers_.empty()) next = next.earlier(Deadline::at(timers_.begin()->first));
  return next.poll_timeout();
}

void FiberContext::dispatch(const epoll_event& event) {
  int fd = event.data.fd;
  if (fd == offload_done_.get()) return on_offload_done();
  if (fd == drain_.fd()) return on_drain();
  Watch& w = watch_of(fd);
  if (w.kind == Watch::Kind::none) {
    auto it = loop_fds_.find(fd);
    if (it == loop_fds_.end()) return;            // released since epoll_wait returned
    std::function<void()> on_ready = it->second;  // a copy: it may unwatch itself
    return on_ready();
  }
  w.ready = static_cast<short>(w.ready | to_poll_bits(event.events));
  if ((event.events & (EPOLLPRI | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) w.no_shortcut = true;
  if ((w.ready & (POLLIN | POLLHUP | POLLERR)) != 0) w.drained = false;  // news to read
  if (w.waiter != nullptr && (w.ready & (w.wanted | POLLHUP | POLLERR)) != 0) wake(*w.waiter);
}

void FiberContext::expire_timers() {
  Clock::time_point now = Clock::now();
  while (!timers_.empty() && timers_.begin()->first <= now) {
    Task& task = *timers_.begin()->second;
    timers_.erase(timers_.begin());
    task.timer.reset();
    task.timed_out = true;
    wake(task);
  }
}

void FiberContext::on_drain() {
  drained_ = true;
  remove_from_epoll(epoll_.get(), drain_.fd());
  for (Task& task : tasks_) {
    if (task.waiting) wake(task);  // it throws DrainDeadlinePassed when it runs
  }
}

void FiberContext::on_offload_done() {
  uint64_t count = 0;
  [[maybe_unused]] ssize_t n = ::read(offload_done_.get(), &count, sizeof count);  // reset it
  std::vector<Task*> done;
  {
    std::lock_guard lock(done_mutex_);
    done.swap(done_);
  }
  for (Task* task : done) wake(*task);
}

void FiberContext::wake(Task& task) {
  if (task.queued) return;
  task.queued = true;
  runnable_.push_back(&task);
}

void FiberContext::run_ready() {
  while (!runnable_.empty()) {
    std::vector<Task*> batch;
    batch.swap(runnable_);
    for (Task* task : batch) {
      task->queued = false;
      current_ = task;
      bool alive = task->fiber.resume();
      current_ = nullptr;
      if (!alive) tasks_.erase(task->self);  // its stack goes back to the pool
    }
  }
}

}  // namespace sockserv
