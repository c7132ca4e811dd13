// The epoll loop of one loadgen thread (see load_driver.hpp).
//
// Every connection slot is a small state machine: closed -> connecting -> ready <-> busy,
// or held (an idle connection), and after a failure a short backoff before it reopens, so a
// dead server costs a count per slot every few milliseconds instead of a spinning thread.
#include "load_driver.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <exception>
#include <thread>
#include <vector>

#include "error.hpp"
#include "fd.hpp"

namespace sockserv {

using namespace std::chrono_literals;

LoadError classify_errno(int err) {
  switch (err) {
    case EADDRNOTAVAIL:
    case EADDRINUSE:  // no free ephemeral port: the same exhaustion seen by bind
      return LoadError::eaddrnotavail;
    case EMFILE:
    case ENFILE:
      return LoadError::emfile;
    case ECONNREFUSED:
    case EAGAIN:  // connect() on a unix socket whose listen backlog is full
      return LoadError::refused;
    case ECONNRESET:
    case ECONNABORTED:
    case EPIPE:
      return LoadError::reset;
    case ETIMEDOUT:
      return LoadError::timeout;
    default:
      return LoadError::other;
  }
}

std::string make_payload(size_t size) {
  std::string bytes(size, '\0');
  uint32_t state = 2463534242U;  // xorshift32: cheap, fixed, no byte pattern repeats soon
  for (char& c : bytes) {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    c = static_cast<char>(state & 0xff);
  }
  return bytes;
}

void LoadResult::merge(const LoadResult& other) {
  latency.merge(other.latency);
  connect_latency.merge(other.connect_latency);
  operations += other.operations;
  bytes_sent += other.bytes_sent;
  bytes_received += other.bytes_received;
  for (size_t i = 0; i < kLoadErrorKinds; ++i) errors[i] += other.errors[i];
  idle_held += other.idle_held;
  idle_lost += other.idle_lost;
}

uint64_t LoadResult::error_total() const {
  uint64_t total = 0;
  for (uint64_t n : errors) total += n;
  return total;
}

SocketAddress any_address(int family, uint16_t port) {
  SocketAddress address;
  address.storage.ss_family = static_cast<sa_family_t>(family);
  if (family == AF_INET6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(address.get());
    in6->sin6_addr = in6addr_any;
    in6->sin6_port = htons(port);
    address.length = sizeof(sockaddr_in6);
  } else {
    auto* in = reinterpret_cast<sockaddr_in*>(address.get());
    in->sin_addr.s_addr = htonl(INADDR_ANY);
    in->sin_port = htons(port);
    address.length = sizeof(sockaddr_in);
  }
  return address;
}

namespace {

constexpr auto kRetryDelay = 10ms;  // a failed slot waits this long before reopening
constexpr auto kSweepEvery = 10ms;  // how often deadlines and retries are checked
constexpr size_t kReadBuffer = 256 * 1024;
constexpr int kPortTries = 8;  // --source-ports: ports tried for one connection before failing
constexpr int kMaxEvents = 256;

uint64_t nanos(Clock::duration d) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
}

enum class Phase { closed, connecting, ready, busy, held, backoff };

struct Slot {
  UniqueFd fd;
  uint32_t generation = 0;  // bumped on every open, so a stale event is recognised
  bool idle = false;        // held open without sending (idle mode)
  Phase phase = Phase::closed;
  uint32_t events = 0;      // the epoll interest now registered
  bool in_request = false;  // a request has started (it may still wait for the connection)
  Clock::time_point connect_started, request_from, deadline, retry_at;
  uint64_t sent = 0, received = 0;       // of this request; stream mode: totals on this connection
  std::deque<Clock::time_point> queued;  // open loop: intended times not yet started
};

class Loop {
 public:
  explicit Loop(const LoadPlan& plan) : plan_(plan), buffer_(kReadBuffer) {
    epoll_ = UniqueFd(::epoll_create1(EPOLL_CLOEXEC));
    if (!epoll_) throw_errno("epoll_create1");
    // Idle connections first, so they are in place before the active ones start measuring.
    slots_.resize(plan.idle + plan.connections);
    for (size_t i = 0; i < plan.idle; ++i) slots_[i].idle = true;
  }

  LoadResult run();

 private:
  bool measuring(Clock::time_point from, Clock::time_point now) const {
    return from >= plan_.measure_from && now <= plan_.end;
  }
  size_t size() const { return plan_.payload.size(); }
  // Open loop: when this thread's n-th request is due.
  Clock::time_point tick_time(uint64_t n) const {
    std::chrono::duration<double> after(static_cast<double>(n) / plan_.rate);
    return plan_.start + std::chrono::duration_cast<Clock::duration>(after);
  }

  void start_slot(Slot& s);
  void open(Slot& s);
  int start_connect(Slot& s);
  bool bind_next_port(int fd);
  void on_connected(Slot& s);
  void next_request(Slot& s);
  void begin(Slot& s, Clock::time_point from);
  void on_writable(Slot& s);
  void on_readable(Slot& s);
  bool check_echo(Slot& s, const char* data, size_t n);
  void complete(Slot& s);
  void fail(Slot& s, LoadError why);
  void close(Slot& s, Phase next);
  void want(Slot& s, uint32_t events);
  bool watch(Slot& s, int operation, uint32_t events);
  void release_due(Clock::time_point now);
  void sweep(Clock::time_point now);
  int wait(Clock::time_point until, epoll_event* events);

  const LoadPlan& plan_;
  UniqueFd epoll_;
  std::vector<Slot> slots_;
  std::vector<char> buffer_;
  LoadResult result_;
  uint64_t ticks_ = 0;    // open loop: requests released so far
  size_t next_port_ = 0;  // --source-ports: offset of the port the next connection binds
};

LoadResult Loop::run() {
  for (Slot& s : slots_) start_slot(s);
  epoll_event events[kMaxEvents];
  Clock::time_point next_sweep = Clock::now() + kSweepEvery;
  for (Clock::time_point now = Clock::now(); now < plan_.end; now = Clock::now()) {
    if (plan_.rate > 0) release_due(now);
    if (now >= next_sweep) {
      sweep(now);
      next_sweep = now + kSweepEvery;
    }
    Clock::time_point until = std::min(next_sweep, plan_.end);
    if (plan_.rate > 0 && plan_.connections > 0) until = std::min(until, tick_time(ticks_));
    int n = wait(until, events);
    for (int i = 0; i < n; ++i) {
      Slot& s = slots_[events[i].data.u64 & 0xffffffffU];
      auto generation = static_cast<uint32_t>(events[i].data.u64 >> 32);
      if (s.generation != generation) continue;
      if (events[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) on_writable(s);
      if (s.generation != generation || !s.fd) continue;  // closed meanwhile
      if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) on_readable(s);
    }
  }
  for (const Slot& s : slots_) result_.idle_held += s.idle && s.phase == Phase::held;
  return std::move(result_);
}

// Waits for events until `until`, to the nanosecond where the kernel has epoll_pwait2
// (Linux 5.11): an open loop's sends must leave on time, not on the next millisecond.
int Loop::wait(Clock::time_point until, epoll_event* events) {
  auto left = std::max(until - Clock::now(), Clock::duration::zero());
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
  timespec timeout{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
  int n = ::epoll_pwait2(epoll_.get(), events, kMaxEvents, &timeout, nullptr);
  if (n < 0 && errno == ENOSYS) {
    n = ::epoll_wait(epoll_.get(), events, kMaxEvents,
                     static_cast<int>((ns + 999'999) / 1'000'000));
  }
  if (n < 0 && errno != EINTR) throw_errno("epoll_wait");
  return std::max(n, 0);
}

void Loop::start_slot(Slot& s) {
  if (s.idle || plan_.mode != LoadMode::connect) {
    open(s);
  } else {
    next_request(s);  // connect mode: every request opens its own connection
  }
}

void Loop::open(Slot& s) {
  ++s.generation;
  s.events = 0;
  s.connect_started = Clock::now();
  s.deadline = s.connect_started + plan_.timeout;
  s.phase = Phase::connecting;
  int err = start_connect(s);
  // With --source-ports, a port may still be held: by a listener (EADDRINUSE from bind), or
  // by our own last connection from it to this server, not yet closed on both sides
  // (EADDRNOTAVAIL from connect). The next port may be free.
  for (int tries = 1; !plan_.source_ports.empty() && tries < kPortTries &&
                      (err == EADDRINUSE || err == EADDRNOTAVAIL);
       ++tries) {
    err = start_connect(s);
  }
  if (err == 0) return on_connected(s);
  if (err != EINPROGRESS) return fail(s, classify_errno(err));
  // A non-blocking connect finishes when the socket becomes writable (connect(2)).
  watch(s, EPOLL_CTL_ADD, EPOLLOUT);
}

// A new non-blocking socket in s.fd, its connect() begun: 0 when connected at once (unix
// sockets), else the errno (EINPROGRESS: under way).
int Loop::start_connect(Slot& s) {
  const SocketAddress& to = plan_.server;
  s.fd = UniqueFd(::socket(to.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!s.fd) return errno;
  if (to.family() != AF_UNIX) {
    // Requests are small and each waits for its answer: Nagle's delay would be measured
    // instead of the server.
    int one = 1;
    ::setsockopt(s.fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  if (!plan_.source_ports.empty() && !bind_next_port(s.fd.get())) return errno;
  return ::connect(s.fd.get(), to.get(), to.length) == 0 ? 0 : errno;
}

// Binds `fd` to the wildcard address and the next port of --source-ports, in turn, so each
// port is used again only after the whole range, when its last connection has long closed.
bool Loop::bind_next_port(int fd) {
  // SO_REUSEADDR: the port's previous connection may still be in TIME_WAIT; without it bind
  // would refuse the port for a minute. A TIME_WAIT of the very same connection (both
  // addresses, both ports) Linux then takes over at connect(), since the port was chosen on
  // purpose and TCP timestamps tell the old connection's late segments from the new ones.
  int one = 1;
  if (::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) return false;
  uint16_t port = static_cast<uint16_t>(plan_.source_ports.first + next_port_);
  next_port_ = (next_port_ + 1) % plan_.source_ports.size();
  SocketAddress from = any_address(plan_.server.family(), port);
  return ::bind(fd, from.get(), from.length) == 0;
}

void Loop::on_connected(Slot& s) {
  Clock::time_point now = Clock::now();
  if (measuring(s.connect_started, now)) {
    result_.connect_latency.record(nanos(now - s.connect_started));
  }
  // Connected at once (unix sockets): not in the epoll set yet.
  if (s.events == 0 && !watch(s, EPOLL_CTL_ADD, EPOLLIN)) return;
  if (s.idle) {
    s.phase = Phase::held;
    return want(s, EPOLLIN);  // only to notice the server closing it
  }
  s.phase = Phase::ready;
  if (plan_.mode == LoadMode::stream) {
    s.phase = Phase::busy;
    s.sent = s.received = 0;
    s.deadline = now + plan_.timeout;
    return want(s, EPOLLIN | EPOLLOUT);
  }
  if (s.in_request) return begin(s, s.request_from);
  next_request(s);
}

// A slot that has finished a request (or just connected) takes the next one: at once in a
// closed loop, the oldest queued intended time in an open loop.
void Loop::next_request(Slot& s) {
  if (plan_.rate <= 0) return begin(s, Clock::now());
  if (!s.queued.empty()) {
    Clock::time_point from = s.queued.front();
    s.queued.pop_front();
    return begin(s, from);
  }
  if (s.fd) want(s, EPOLLIN);  // nothing to send: only notice the server closing
}

void Loop::begin(Slot& s, Clock::time_point from) {
  s.in_request = true;
  s.request_from = from;
  if (s.phase == Phase::closed) return open(s);  // connect mode; resumes in on_connected
  if (s.phase != Phase::ready) return;           // connecting or backing off: resumes later
  s.phase = Phase::busy;
  s.sent = s.received = 0;
  s.deadline = Clock::now() + plan_.timeout;
  on_writable(s);
}

void Loop::on_writable(Slot& s) {
  if (s.phase == Phase::connecting) {
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(s.fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    return err != 0 ? fail(s, classify_errno(err)) : on_connected(s);
  }
  if (s.phase != Phase::busy) return;
  bool stream = plan_.mode == LoadMode::stream;
  if (!stream && s.sent == size()) return want(s, EPOLLIN);
  size_t offset = s.sent % size();
  ssize_t n = ::send(s.fd.get(), plan_.payload.data() + offset, size() - offset, MSG_NOSIGNAL);
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) return want(s, EPOLLIN | EPOLLOUT);
    return fail(s, classify_errno(errno));
  }
  Clock::time_point now = Clock::now();
  s.sent += static_cast<uint64_t>(n);
  if (stream) s.deadline = now + plan_.timeout;  // progress: the stall clock restarts
  if (now >= plan_.measure_from) result_.bytes_sent += static_cast<uint64_t>(n);
  want(s, (stream || s.sent < size()) ? EPOLLIN | EPOLLOUT : EPOLLIN);
}

void Loop::on_readable(Slot& s) {
  if (s.phase == Phase::connecting) return on_writable(s);  // an error: SO_ERROR tells which
  ssize_t n = ::recv(s.fd.get(), buffer_.data(), buffer_.size(), 0);
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) return;
    return fail(s, classify_errno(errno));
  }
  if (n == 0) return fail(s, LoadError::closed);
  if (s.phase != Phase::busy) return fail(s, LoadError::wrong_bytes);  // nothing was asked
  if (!check_echo(s, buffer_.data(), static_cast<size_t>(n))) {
    return fail(s, LoadError::wrong_bytes);
  }
  if (plan_.mode != LoadMode::stream && s.received == size()) complete(s);
}

// Compares `n` received bytes with what was sent at that offset, and counts them.
bool Loop::check_echo(Slot& s, const char* data, size_t n) {
  bool stream = plan_.mode == LoadMode::stream;
  if (n > s.sent - s.received) return false;  // more than was sent
  Clock::time_point now = Clock::now();
  for (size_t done = 0; done < n;) {
    size_t offset = (s.received + done) % size();
    size_t chunk = std::min(n - done, size() - offset);
    if (std::memcmp(data + done, plan_.payload.data() + offset, chunk) != 0) return false;
    done += chunk;
  }
  if (stream && now >= plan_.measure_from) {
    result_.operations += (s.received + n) / size() - s.received / size();  // whole writes echoed
  }
  s.received += n;
  if (stream) s.deadline = now + plan_.timeout;
  if (now >= plan_.measure_from) result_.bytes_received += n;
  return true;
}

void Loop::complete(Slot& s) {
  Clock::time_point now = Clock::now();
  if (measuring(s.request_from, now)) {
    ++result_.operations;
    result_.latency.record(nanos(now - s.request_from));
  }
  s.in_request = false;
  if (plan_.mode == LoadMode::connect) {
    close(s, Phase::closed);
  } else {
    s.phase = Phase::ready;
  }
  next_request(s);
}

// Counts a failure and closes the connection; the slot reopens after kRetryDelay. The
// request under way is dropped (its intended-time queue, in an open loop, is kept).
void Loop::fail(Slot& s, LoadError why) {
  ++result_.errors[static_cast<size_t>(why)];
  if (s.phase == Phase::held) ++result_.idle_lost;
  s.in_request = false;
  s.retry_at = Clock::now() + kRetryDelay;
  close(s, Phase::backoff);
}

void Loop::close(Slot& s, Phase next) {
  s.fd.reset();  // closing the descriptor also takes it out of the epoll set
  s.events = 0;
  s.phase = next;
}

void Loop::want(Slot& s, uint32_t events) {
  if (s.fd && s.events != events) watch(s, EPOLL_CTL_MOD, events);
}

// Adds the slot's socket to the epoll set or changes its interest; a failure fails the slot.
// The event carries the slot's index and generation, so an event for a socket the slot has
// since closed and replaced is recognised and dropped.
bool Loop::watch(Slot& s, int operation, uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = (uint64_t{s.generation} << 32) | static_cast<uint64_t>(&s - slots_.data());
  if (::epoll_ctl(epoll_.get(), operation, s.fd.get(), &ev) != 0) {
    fail(s, classify_errno(errno));
    return false;
  }
  s.events = events;
  return true;
}

// Open loop: the n-th request of this thread is due at start + n / rate and goes to the
// active slots in turn. A slot still busy keeps it queued; its latency will count from the
// intended time all the same, so a stalled server cannot hide (coordinated omission).
void Loop::release_due(Clock::time_point now) {
  size_t first_active = plan_.idle;
  if (plan_.connections == 0) return;
  for (;;) {
    Clock::time_point due = tick_time(ticks_);
    if (due > now) return;
    Slot& s = slots_[first_active + ticks_ % plan_.connections];
    ++ticks_;
    s.queued.push_back(due);
    if (!s.in_request && (s.phase == Phase::ready || s.phase == Phase::closed)) next_request(s);
  }
}

// Deadlines (a connect, a request, a stalled stream) and the end of backoffs.
void Loop::sweep(Clock::time_point now) {
  for (Slot& s : slots_) {
    if ((s.phase == Phase::connecting || s.phase == Phase::busy) && now >= s.deadline) {
      fail(s, LoadError::timeout);
    } else if (s.phase == Phase::backoff && now >= s.retry_at) {
      s.phase = Phase::closed;
      start_slot(s);
    }
  }
}

}  // namespace

LoadResult drive_load(const LoadPlan& plan) {
  return Loop(plan).run();
}

std::vector<LoadPlan> split_load(const LoadPlan& whole, size_t threads) {
  threads = std::max<size_t>(1, std::min(threads, whole.connections));
  std::vector<LoadPlan> plans(threads, whole);
  for (size_t i = 0; i < threads; ++i) {
    LoadPlan& p = plans[i];
    p.connections = whole.connections / threads + (i < whole.connections % threads ? 1 : 0);
    p.idle = whole.idle / threads + (i < whole.idle % threads ? 1 : 0);
    if (!whole.source_ports.empty()) {  // disjoint shares: two threads never race for a port
      size_t share = whole.source_ports.size() / threads;
      p.source_ports.first = static_cast<uint16_t>(whole.source_ports.first + i * share);
      p.source_ports.last = static_cast<uint16_t>(
          i + 1 == threads ? whole.source_ports.last : p.source_ports.first + share - 1);
    }
    if (whole.rate > 0) {
      p.rate =
          whole.rate * static_cast<double>(p.connections) / static_cast<double>(whole.connections);
      p.start += std::chrono::duration_cast<Clock::duration>(
          std::chrono::duration<double>(static_cast<double>(i) / whole.rate));
    }
  }
  return plans;
}

LoadResult run_threads(const std::vector<LoadPlan>& plans) {
  std::vector<LoadResult> results(plans.size());
  std::vector<std::exception_ptr> failures(plans.size());
  {
    std::vector<std::jthread> threads;
    for (size_t i = 0; i < plans.size(); ++i) {
      threads.emplace_back([&, i] {
        try {
          results[i] = drive_load(plans[i]);
        } catch (...) {
          failures[i] = std::current_exception();
        }
      });
    }
  }  // the jthreads join here
  for (const std::exception_ptr& failure : failures) {
    if (failure) std::rethrow_exception(failure);
  }
  LoadResult total;
  for (const LoadResult& r : results) total.merge(r);
  return total;
}

}  // namespace sockserv
