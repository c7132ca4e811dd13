// The accept loop, the stop sequence, and running one request's handler.
#include "server.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "error.hpp"
#include "log.hpp"
#include "notify.hpp"
#include "waiters.hpp"

namespace sockserv {
namespace {

constexpr size_t kMaxDatagram = 65536;  // one more than the largest UDP payload, to see MSG_TRUNC
constexpr Millis kForceGrace{1000};     // after the cut, how long children get to notice it

UniqueFd open_spare_fd() { return UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC)); }

UniqueFd make_cut_timer() {
  // A timerfd stays readable once it has fired, so every connection polling it sees the cut,
  // and a forked child shares the very same timer with its parent.
  UniqueFd fd(::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
  if (!fd) throw_errno("timerfd_create");
  return fd;
}

}  // namespace

Server::Server(ServerSettings settings, std::unique_ptr<Model> model, StreamService stream,
               DatagramService datagram)
    : settings_(std::move(settings)),
      stream_service_(std::move(stream)),
      datagram_service_(std::move(datagram)),
      access_(settings_.access),
      cut_timer_(make_cut_timer()),
      spare_fd_(open_spare_fd()),
      model_(std::move(model)) {}

Server::~Server() {
  // Leaving without a drain (an error escaped serve_forever): end the connections still
  // running, so the model's destructor can join its threads instead of waiting forever.
  if (model_->active() > 0) {
    try {
      arm_cut(Millis(0));
    } catch (const std::system_error& e) {
      log_error(e.what());
    }
    model_->force_stop();
  }
}

void Server::add_listener(Listener listener) {
  log_info("listening on ", to_string(listener.local()), " (", transport_name(listener.transport()),
           ", model=", model_->name(), ")");
  listeners_.push_back(std::move(listener));
}

void Server::server_close() { listeners_.clear(); }

void Server::serve_forever() {
  notify_ready(status_text());
  while (!stopping_) poll_once(Deadline::never());
  drain();
}

void Server::serve_until_idle(Millis idle) {
  notify_ready(status_text());
  Clock::time_point last_request = Clock::now();
  while (!stopping_) {
    bool over = Clock::now() >= last_request + idle;
    if (over && model_->active() == 0) {
      log_info("idle for ", idle.count() / 1000.0, "s: exiting until the next request");
      break;
    }
    // Past the idle time with requests still in flight, look again when one ends (SIGCHLD or
    // a worker's wakeup) or after a second at the latest.
    Deadline deadline = over ? Deadline::after(Millis(1000)) : Deadline::at(last_request + idle);
    if (poll_once(deadline)) last_request = Clock::now();
  }
  drain();
}

bool Server::handle_request(Deadline deadline) { return poll_once(deadline); }

bool Server::poll_once(Deadline deadline) {
  std::vector<pollfd> fds{{wakeup_.fd(), POLLIN, 0}};
  // At the limit of children/threads, or backing off after EMFILE, leave the listeners out:
  // new clients then wait in the kernel's backlog instead of being accepted and dropped.
  bool accepting = model_->has_capacity() && Clock::now() >= accept_paused_until_;
  if (accepting) {
    for (const Listener& listener : listeners_) fds.push_back({listener.fd(), POLLIN, 0});
  }
  size_t hub_first = fds.size();  // the hub's descriptors (if any) come after the listeners
  if (hub_) hub_->add_poll_fds(fds);
  Deadline wait_until = accepting ? deadline : deadline.earlier(Deadline::at(accept_paused_until_));
  bool served = false;
  if (plain_waiter().wait(fds, wait_until)) {
    if (fds[0].revents != 0) process_wakeups();
    for (size_t i = 1; i < hub_first && !stopping_; ++i) {
      if (fds[i].revents == 0) continue;
      const Listener& listener = listeners_[i - 1];
      if (is_stream(listener.transport())) {
        accept_connection(listener);
      } else {
        receive_datagram(listener);
      }
      served = true;
    }
    poll_hub(fds, hub_first);
  }
  report_status();
  service_actions();
  return served;
}

void Server::poll_hub(std::vector<pollfd>& fds, size_t first) {
  if (hub_) hub_->on_poll(std::span(fds).subspan(first));
}

void Server::process_wakeups() {
  WakeupReasons reasons = wakeup_.take();
  if (reasons.child_exited || reasons.worker_done) model_->collect_finished();
  if (reasons.status) {
    log_info("status: ", model_->active(), " requests in flight, model=", model_->name(),
             stopping_ ? ", stopping" : "");
  }
  if (reasons.stop) begin_stop();
}

void Server::accept_connection(const Listener& listener) {
  Request request;
  request.peer.length = sizeof request.peer.storage;
  // accept4 with SOCK_CLOEXEC: the connection must not leak into programs we exec.
  // SOCK_NONBLOCK: handlers wait through their Waiter, never in a blocking call.
  int fd = ::accept4(listener.fd(), request.peer.get(), &request.peer.length,
                     SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (fd < 0) {
    on_accept_error(errno, listener);
    return;
  }
  request.socket = UniqueFd(fd);
  if (!admit(request)) return;  // the socket closes here: the client sees EOF at once
  try {
    apply_connection_options(fd, settings_.socket);
  } catch (const std::system_error& e) {
    log_warning(to_string(request.peer), ": ", e.what());
  }
  if (log_enabled(LogLevel::debug)) log_debug("connection from ", to_string(request.peer));
  model_->process_request(std::move(request), *this);
}

void Server::on_accept_error(int err, const Listener& listener) {
  switch (err) {
    case EAGAIN:        // another process or thread took it, or the client already left
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
      accept_paused_until_ = Clock::now() + Millis(100);
      if (Clock::now() - last_emfile_log_ >= std::chrono::seconds(1)) {
        last_emfile_log_ = Clock::now();
        log_error("accept: ", std::strerror(err), " (too many open files): dropping new clients");
      }
      return;
    }
    default:
      // ENOBUFS, ENOMEM and the like: back off briefly instead of spinning.
      accept_paused_until_ = Clock::now() + Millis(100);
      log_error("accept on ", to_string(listener.local()), ": ", std::strerror(err));
  }
}

void Server::receive_datagram(const Listener& listener) {
  Request request;
  request.is_datagram = true;
  request.datagram.resize(kMaxDatagram);
  request.peer.length = sizeof request.peer.storage;
  // MSG_TRUNC makes recvfrom return the datagram's real length even if it did not fit, so a
  // cut datagram is detected instead of silently served short.
  ssize_t n = ::recvfrom(listener.fd(), request.datagram.data(), request.datagram.size(),
                         MSG_TRUNC | MSG_DONTWAIT, request.peer.get(), &request.peer.length);
  if (n < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      log_error("recvfrom on ", to_string(listener.local()), ": ", std::strerror(errno));
    }
    return;
  }
  if (static_cast<size_t>(n) > request.datagram.size()) {
    log_warning("dropped a ", n, "-byte datagram from ", to_string(request.peer), ": too large");
    return;
  }
  request.datagram.resize(static_cast<size_t>(n));
  request.datagram.shrink_to_fit();
  if (!admit(request)) return;  // dropped without a reply
  // The request gets its own descriptor for the socket, so that a child or thread can reply
  // even after the server has closed its listeners.
  request.socket = UniqueFd(::fcntl(listener.fd(), F_DUPFD_CLOEXEC, 0));
  if (!request.socket) {
    log_error("dup: ", std::strerror(errno));
    return;
  }
  model_->process_request(std::move(request), *this);
}

bool Server::finish_request(Request& request, Waiter& waiter) {
  std::string peer = to_string(request.peer);
  try {
    if (request.is_datagram) {
      run_datagram(request);
    } else {
      run_stream(request, waiter);
    }
    return true;
  } catch (...) {
    handle_error(peer, std::current_exception());
    return false;
  }
}

void Server::run_stream(Request& request, Waiter& waiter) {
  Connection connection(std::move(request.socket), request.peer, waiter, settings_.idle_timeout);
  connection.set_hub(hub_.get());
  try {
    stream_service_(connection);
  } catch (...) {
    // Even after an error (a bad frame), close politely: closing with the client's unread
    // bytes still queued would send RST instead of FIN.
    connection.close_gracefully();
    throw;
  }
  // The handler is done: finish sending, then half-close, so a client that half-closed
  // its side still receives the whole reply before EOF.
  connection.close_gracefully();
}

void Server::run_datagram(Request& request) {
  DatagramRequest datagram(request.socket.get(), std::move(request.datagram), request.peer,
                           settings_.udp_reply_allowance);
  datagram_service_(datagram);
}

void Server::serve_one_connection(UniqueFd socket) {
  Request request;
  request.peer = peer_address(socket.get());
  request.socket = std::move(socket);
  // inetd or systemd accepted for us; the address rules still apply (the limits per source
  // and rate need a long-lived process: set them on the .socket unit or in inetd instead).
  if (!admit(request)) return;
  CutWaiter waiter(cut_fd(), wakeup_fd(), [this] { process_wakeups(); });
  finish_request(request, waiter);
  access_.closed(request.id);
}

bool Server::verify_request(const SocketAddress& peer) { return !access_.check(peer); }

bool Server::admit(Request& request) {
  if (!verify_request(request.peer)) {
    log_debug("refused ", to_string(request.peer));
    return false;
  }
  request.id = ++next_request_id_;
  access_.opened(request.id, request.peer);
  return true;
}

std::string Server::status_text() const {
  return std::string(stopping_ ? "stopping; " : "serving; ") + std::to_string(model_->active()) +
         " requests in flight (model=" + std::string(model_->name()) + ")";
}

void Server::report_status() {
  // Only when the count changed: one datagram to systemd per change, none per idle pass.
  if (model_->active() == reported_active_) return;
  reported_active_ = model_->active();
  notify_status(status_text());
}

void Server::handle_error(const std::string& peer, std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const ProtocolError& e) {
    log_warning(peer, ": protocol error: ", e.what(), "; closing the connection");
  } catch (const TimeoutError& e) {
    log_info(peer, ": ", e.what(), "; closing the connection");
  } catch (const ConnectionCut& e) {
    log_info(peer, ": ", e.what());
  } catch (const std::system_error& e) {
    if (is_peer_gone(e)) {
      log_info(peer, ": client went away (", e.code().message(), ")");
    } else {
      log_error(peer, ": ", e.what());
    }
  } catch (const std::exception& e) {
    log_error(peer, ": ", e.what());
  }
}

void Server::prepare_child() {
  // The child serves one client; the listening sockets belong to the parent.
  for (Listener& listener : listeners_) listener.close_in_child();
  spare_fd_.reset();
  wakeup_.release_in_child();
}

void Server::begin_stop() {
  if (stopping_) {
    // Asked twice (a second Ctrl-C): do not wait out the drain time.
    log_info("stop requested again: ending ", model_->active(), " connections now");
    arm_cut(Millis(0));
    return;
  }
  stopping_ = true;
  notify_stopping(status_text());
  log_info("stopping: no new connections; waiting up to ",
           settings_.drain_timeout.count() / 1000.0, "s for ", model_->active(), " in flight");
  arm_cut(settings_.drain_timeout);
}

void Server::arm_cut(Millis delay) {
  itimerspec spec{};
  // A zero it_value would disarm the timer; one nanosecond means "now".
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(delay).count();
  if (ns <= 0) ns = 1;
  spec.it_value.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
  spec.it_value.tv_nsec = static_cast<long>(ns % 1'000'000'000);
  if (::timerfd_settime(cut_timer_.get(), 0, &spec, nullptr) < 0) throw_errno("timerfd_settime");
  cut_armed_ = true;
}

void Server::drain() {
  server_close();  // refuse new connections from now on
  if (!cut_armed_) arm_cut(settings_.drain_timeout);
  model_->collect_finished();
  std::optional<Clock::time_point> force_at;
  bool forced = false;
  while (model_->active() > 0) {
    std::vector<pollfd> fds{{wakeup_.fd(), POLLIN, 0}};
    if (!force_at) fds.push_back({cut_timer_.get(), POLLIN, 0});
    size_t hub_first = fds.size();  // children still talking need the relay while draining
    if (hub_) hub_->add_poll_fds(fds);
    Deadline deadline = force_at && !forced ? Deadline::at(*force_at) : Deadline::after(Millis(1000));
    plain_waiter().wait(fds, deadline);
    if (fds[0].revents != 0) process_wakeups();
    if (!force_at && hub_first > 1 && fds[1].revents != 0) force_at = Clock::now() + kForceGrace;
    poll_hub(fds, hub_first);
    if (force_at && !forced && Clock::now() >= *force_at) {
      model_->force_stop();
      forced = true;
    }
    model_->collect_finished();
  }
  log_info("stopped");
}

}  // namespace sockserv
