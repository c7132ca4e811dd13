// accept4(2) and what to do when it fails.
#include "acceptor.hpp"

#include <fcntl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "log.hpp"

namespace sockserv {
namespace {
UniqueFd open_spare_fd() {
  return UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
}
}  // namespace

Acceptor::Acceptor(SocketOptions options, std::function<bool(Request&)> admit,
                   bool blocking_sockets, AcceptStats* stats)
    : options_(options),
      admit_(std::move(admit)),
      // SOCK_CLOEXEC: the connection must not leak into programs we exec. SOCK_NONBLOCK only
      // where the context waits with poll or epoll; a blocking context sleeps in read(2).
      accept_flags_(SOCK_CLOEXEC | (blocking_sockets ? 0 : SOCK_NONBLOCK)),
      stats_(stats),
      spare_fd_(open_spare_fd()) {}

std::optional<Request> Acceptor::accept(const Listener& listener) {
  Request request;
  request.peer.length = sizeof request.peer.storage;
  int fd = ::accept4(listener.fd(), request.peer.get(), &request.peer.length, accept_flags_);
  if (fd < 0) {
    on_error(errno, listener);
    return std::nullopt;
  }
  request.socket = UniqueFd(fd);
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
    case ENFILE: {
      // Out of descriptors. The pending connection stays in the backlog and poll would report
      // it again at once: a busy loop. Free the spare descriptor, accept the client and close
      // it right away (it sees EOF, not a hang), then take the spare back (muduo's trick).
      spare_fd_.reset();
      UniqueFd dropped(::accept4(listener.fd(), nullptr, nullptr, SOCK_CLOEXEC));
      dropped.reset();
      spare_fd_ = open_spare_fd();
      // If even that failed, pause accepting briefly rather than spin.
      paused_until_ = Clock::now() + Millis(100);
      if (Clock::now() - last_emfile_log_ >= std::chrono::seconds(1)) {
        last_emfile_log_ = Clock::now();
        log_error("accept: ", std::strerror(err), " (too many open files): dropping new clients");
      }
      return;
    }
    default:
      // ENOBUFS, ENOMEM and the like: back off briefly instead of spinning.
      paused_until_ = Clock::now() + Millis(100);
      log_error("accept on ", to_string(listener.local()), ": ", std::strerror(err));
  }
}

}  // namespace sockserv
