// accept4(2) and what to do when it fails.
#include "acceptor.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <time.h>

#include <cerrno>
#include <cstring>

#include "error.hpp"
#include "log.hpp"

namespace sockserv {
namespace {
UniqueFd open_spare_fd() {
  return UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
}

int64_t monotonic_ms() {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  return int64_t{now.tv_sec} * 1000 + now.tv_nsec / 1'000'000;
}
}  // namespace

static_assert(std::atomic<int64_t>::is_always_lock_free &&
              std::atomic<uint64_t>::is_always_lock_free);  // they live in shared memory

DescriptorShortage::DescriptorShortage()
    : spare_fd_(open_spare_fd()), shared_("descriptor shortage") {}

void DescriptorShortage::drop_one_client(int listener_fd, int err,
                                         const std::function<void(const Request&)>& dropped) {
  {
    // Out of descriptors, the pending connection stays in the backlog and poll would report
    // it again at once: a busy loop. With the spare freed, accept gets the client and closes
    // it right away; then the spare is taken back (muduo's trick). If another thread took
    // the freed slot first, accept fails again and the caller's pause stops the spin.
    std::lock_guard lock(spare_mutex_);
    spare_fd_.reset();
    Request client;
    client.peer.length = sizeof client.peer.storage;
    client.socket =
        UniqueFd(::accept4(listener_fd, client.peer.get(), &client.peer.length, SOCK_CLOEXEC));
    if (client.socket) {
      shared_->dropped.fetch_add(1, std::memory_order_relaxed);
      if (dropped) dropped(client);
    }
    client.socket.reset();
    spare_fd_ = open_spare_fd();
  }
  warn_at_most_once_a_second(err);
}

void DescriptorShortage::warn_at_most_once_a_second(int err) {
  int64_t now = monotonic_ms();
  int64_t last = shared_->last_warning_ms.load(std::memory_order_relaxed);
  // Only the thread or process that moves the time forward warns: one line a second in all.
  if (now - last < 1000 || !shared_->last_warning_ms.compare_exchange_strong(last, now)) return;
  uint64_t total = shared_->dropped.load(std::memory_order_relaxed);
  uint64_t before = shared_->dropped_at_last_warning.exchange(total);
  log_error("accept: ", std::strerror(err), " (too many open files): dropped ", total - before,
            " new client(s) since the last warning, ", total, " in all");
}

Acceptor::Acceptor(SocketOptions options, std::function<bool(Request&)> admit,
                   std::function<void(const Request&)> dropped, bool blocking_sockets,
                   DescriptorShortage& shortage, AcceptStats* stats)
    : options_(options),
      admit_(std::move(admit)),
      dropped_(std::move(dropped)),
      // SOCK_CLOEXEC: the connection must not leak into programs we exec. SOCK_NONBLOCK only
      // where the context waits with poll or epoll; a blocking context sleeps in read(2).
      accept_flags_(SOCK_CLOEXEC | (blocking_sockets ? 0 : SOCK_NONBLOCK)),
      shortage_(&shortage),
      stats_(stats) {}

std::optional<Request> Acceptor::accept(const Listener& listener) {
  Request request;
  request.peer.length = sizeof request.peer.storage;
  int fd = ::accept4(listener.fd(), request.peer.get(), &request.peer.length, accept_flags_);
  if (fd < 0) {
    on_error(errno, listener);
    return std::nullopt;
  }
  request.socket = UniqueFd(fd);
  // What the socket has from accept4 and its listener: its context need not set it again.
  request.setup = {.nonblocking = (accept_flags_ & SOCK_NONBLOCK) != 0,
                   .timeouts = listener.connection_timeouts()};
  if (stats_ != nullptr) stats_->accepted.fetch_add(1, std::memory_order_relaxed);
  if (!admit_(request)) return std::nullopt;  // the socket closes here: the client sees EOF
  try {
    apply_connection_options(fd, options_);
  } catch (const std::system_error& e) {
    log_warning(to_string(request.peer), ": ", e.what());
  }
  if (log_enabled(LogLevel::debug)) {
    std::string via = request.proxy ? " via proxy " + to_string(*request.proxy) : "";
    log_debug("connection from ", to_string(request.peer), via);
  }
  return request;
}

void Acceptor::on_error(int err, const Listener& listener) {
  switch (err) {
    case EAGAIN:  // nobody waiting: another worker took the client, or it already left
    case EINTR:
    case ECONNABORTED:  // the client reset the connection before we accepted it
    case EPROTO:
      return;
    case EMFILE:
    case ENFILE:
      shortage_->drop_one_client(listener.fd(), err, dropped_);
      // Then pause accepting briefly: the connections being served must end (and give back
      // their descriptors) before another client can be taken.
      paused_until_ = Clock::now() + Millis(100);
      return;
    default:
      // ENOBUFS, ENOMEM and the like: back off briefly instead of spinning.
      paused_until_ = Clock::now() + Millis(100);
      log_error("accept on ", to_string(listener.local()), ": ", std::strerror(err));
  }
}

}  // namespace sockserv
