// The main loop: wait for the wakeup pipe, the listeners and the relays, then accept
// connections, receive datagrams and hand each to the model.
#include "server.hpp"

#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "error.hpp"
#include "io_contexts.hpp"
#include "log.hpp"

namespace sockserv {
namespace {
constexpr size_t kMaxDatagram = 65536;    // one more than the largest UDP payload, to see MSG_TRUNC
constexpr Millis kCapacityRecheck{1000};  // at capacity: how often to look for finished requests
}  // namespace

Server::Server(ServerSettings settings, std::unique_ptr<Model> model, StreamService stream,
               DatagramService datagram)
    : settings_(std::move(settings)),
      access_log_(settings_.access_log, settings_.name, std::string(model->name())),
      tls_(settings_.tls.enabled() ? std::make_unique<TlsServer>(settings_.tls, settings_.name)
                                   : nullptr),
      runner_(std::move(stream), std::move(datagram),
              {.idle = settings_.idle_timeout, .message = settings_.message_timeout},
              settings_.udp_reply_allowance, access_log_, settings_.request_log, tls_.get()),
      proxy_gate_(settings_.proxy),
      admission_(settings_.access),
      datagram_guard_(settings_.udp_guard),
      acceptor_(make_acceptor(model->io_style() == IoStyle::blocking, nullptr)),
      main_pid_(::getpid()),
      model_(std::move(model)) {}

void Server::add_listener(Listener listener) {
  // Non-blocking: when a client is taken by another worker (or gives up) between poll and
  // accept, accept4 must say EAGAIN instead of sleeping until the next client.
  set_nonblocking(listener.fd(), true);
  // The blocking models bound each read and write of a connection by the idle timeout
  // (BlockingContext): set it once here, and every TCP connection starts with it.
  if (model_->io_style() == IoStyle::blocking)
    listener.give_timeouts_to_connections(settings_.idle_timeout);
  if (listener.transport() == Transport::udp) {
    report_destination_addresses(listener.fd(), listener.local().family());
    datagram_guard_.add_own_port(listener.local().port());
  }
  // The workers' other sockets on a port they share are named with the first.
  if (listener.worker() > 1) {
    listeners_.push_back(std::move(listener));
    return;
  }
  // A unix datagram socket is named as a client names it (unixgram:PATH), not unix:PATH.
  std::string name = to_string(listener.local());
  if (listener.transport() == Transport::unix_dgram) name.replace(0, 4, "unixgram");
  log_info("listening on ", name, " (", transport_name(listener.transport()),
           ", model=", model_->name(), listener.worker() == 1 ? ", a socket per worker" : "",
           tls_ && is_stream(listener.transport()) ? ", TLS" : "", ")");
  if (tls_ && !is_stream(listener.transport()))
    log_warning(to_string(listener.local()),
                ": datagrams are served in clear (TLS is for streams)");
  listeners_.push_back(std::move(listener));
}

void Server::server_close() {
  listeners_.clear();
}

Acceptor Server::make_acceptor(bool blocking_sockets, AcceptStats* stats) {
  return Acceptor(
      settings_.socket, [this](Request& request) { return admit(request); },
      [this](const Request& request) { request_refused(request, "limit"); }, blocking_sockets,
      shortage_, stats);
}

bool Server::admit(Request& request) {
  if (verify_request(request)) return true;
  // A refused datagram gets no line: a flood of spoofed ones would fill the disk (the
  // refusals are in the server's log, one line per source per interval).
  if (!request.is_datagram) {
    runner_.log_refused(request, request.refusal.empty() ? "denied" : request.refusal);
  }
  return false;
}

void Server::reload() {
  log_info("SIGHUP: ", access_log_.reopen());
  // Connections already running keep their session; new ones get the new certificate.
  if (tls_) tls_->reload();
}

bool Server::handle_request(Deadline deadline) {
  return poll_once(deadline);
}

bool Server::poll_once(Deadline deadline) {
  start_model();
  // On the stack, not the heap (PollSet, io.hpp): under --model fork, each page the parent
  // writes after a fork() costs a copy-on-write fault, and this one is written anyway.
  PollSet fds{{wakeup_.fd(), POLLIN, 0}};
  boost::container::small_vector<const Listener*, 8> polled;  // the listeners in fds[1...]
  // At the limit of children/threads, or backing off after EMFILE, leave the listeners out:
  // new clients then wait in the kernel's backlog instead of being accepted and dropped.
  bool paused = Clock::now() < acceptor_.paused_until();
  bool full = !model_->has_capacity();
  if (full && !stopping_)
    admission_.report_saturation("no room for another connection: clients wait in the backlog");
  bool accepting = !full && !paused;
  for (const Listener& listener : listeners_) {
    // Stream listeners are the workers' business when the model's workers accept.
    bool ours = !is_stream(listener.transport()) || model_->main_thread_accepts();
    if (!ours || !accepting) continue;
    fds.push_back({listener.fd(), POLLIN, 0});
    polled.push_back(&listener);
  }
  size_t model_first = fds.size();
  model_->add_poll_fds(fds);
  size_t hub_first = fds.size();
  if (hub_) hub_->add_poll_fds(fds);
  // Paused: wake up when the pause ends (the end of a pause long gone would make this a poll
  // with timeout 0, round after round). At capacity: a finished request wakes us (SIGCHLD,
  // a thread's notice), and we look anyway once a second, so that a wake-up that never
  // comes cannot stop the server for good (seen under ThreadSanitizer, whose emulation of
  // signal delivery left every signal blocked in a storm of 1,000 signals a second).
  Deadline wait_until =
      paused ? deadline.earlier(Deadline::at(acceptor_.paused_until())) : deadline;
  if (full) wait_until = wait_until.earlier(Deadline::after(kCapacityRecheck));
  // A STATUS= change held back by report_status is sent when its second is over.
  if (status_pending()) wait_until = wait_until.earlier(Deadline::at(next_status_));
  bool served = false;
  if (client_io().wait(std::span(fds.data(), fds.size()), wait_until)) {
    if (fds[0].revents != 0) process_wakeups();
    for (size_t i = 0; i < polled.size() && !stopping_; ++i) {
      if (fds[1 + i].revents == 0) continue;
      if (is_stream(polled[i]->transport())) {
        accept_connection(*polled[i]);
      } else {
        receive_datagram(*polled[i]);
      }
      served = true;
    }
    std::span<const pollfd> results(fds.data(), fds.size());
    model_->on_poll(results.subspan(model_first, hub_first - model_first));
    if (hub_) hub_->on_poll(results.subspan(hub_first));
  }
  if (full) model_->collect_finished();  // harmless if nothing has finished
  report_status();
  model_->service_actions();
  service_actions();
  return served;
}

void Server::accept_connection(const Listener& listener) {
  std::optional<Request> request = acceptor_.accept(listener);
  if (request) model_->process_request(std::move(*request), *this);
}

void Server::receive_datagram(const Listener& listener) {
  Request request;
  request.is_datagram = true;
  request.datagram.resize(kMaxDatagram);
  SocketAddress arrived_on;
  // MSG_TRUNC makes recvmsg return the datagram's real length even if it did not fit, so a
  // cut datagram is detected instead of silently served short.
  ssize_t n = receive_with_destination(listener.fd(), request.datagram, listener.local(),
                                       request.peer, arrived_on);
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
  // Before anything is spent on it (under fork, a process): a datagram that could start a
  // ping-pong, or one over its source's reply rate, is dropped unanswered.
  if (datagram_guard_.check(request.peer, arrived_on, Clock::now()) !=
      DatagramGuard::Verdict::serve)
    return;
  request.datagram.resize(static_cast<size_t>(n));
  request.datagram.shrink_to_fit();
  if (!verify_request(request)) return;  // dropped without a reply
  // The request gets its own descriptor for the socket, so that a child or thread can reply
  // even after the server has closed its listeners.
  request.socket = duplicate(listener.fd());
  if (!request.socket) {
    log_error("dup: ", std::strerror(errno));
    request_done(request.id);
    return;
  }
  if (model_->takes_datagrams()) {
    model_->process_request(std::move(request), *this);
    return;
  }
  // Pools and event loops serve streams; a datagram is one short exchange, answered here.
  LoopPollContext io(drain_, wakeup_.fd(), [this] { process_wakeups(); });
  finish_request(request, io);
  request_done(request.id);
}

bool Server::finish_request(Request& request, IoContext& io) {
  return runner_.run(request, io, hub_.get());
}

void Server::serve_one_connection(UniqueFd socket) {
  Request request;
  request.peer = peer_address(socket.get());
  request.socket = std::move(socket);
  // inetd or systemd accepted for us; the address rules still apply (the limits per source
  // and rate need a long-lived process: set them on the .socket unit or in inetd instead).
  if (!admit(request)) return;
  LoopPollContext io(drain_, wakeup_.fd(), [this] { process_wakeups(); });
  finish_request(request, io);
  request_done(request.id);
}

void Server::in_child(UniqueFd hub_link, bool keep_listeners) {
  // A forked child serves one client; the listening sockets belong to the parent. (A
  // prefork worker keeps them: accepting is its job.)
  if (!keep_listeners) {
    for (Listener& listener : listeners_) listener.close_in_child();
  }
  // The child's own SIGTERM handler first, then a look for a SIGTERM that came before it:
  // the other order would leave a moment in which one is lost.
  drain_.enter_child();
  bool stop_came_early = wakeup_.release_in_child();
  if (stop_came_early) DrainDeadline::stop_in_child();
  // A child never outlives its server: if the parent dies (even by SIGKILL, with no chance to
  // stop its children), the kernel sends the child kDrainSignal, which ends its connection.
  // (A prefork worker asks for SIGTERM instead: it finishes its connection, then exits.)
  if (::prctl(PR_SET_PDEATHSIG, kDrainSignal) < 0) throw_errno("prctl PR_SET_PDEATHSIG");
  // The parent may have died before the prctl: then nobody will send the signal.
  if (::getppid() != main_pid_) ::raise(kDrainSignal);
  if (hub_) hub_->enter_child(std::move(hub_link));
}

}  // namespace sockserv
