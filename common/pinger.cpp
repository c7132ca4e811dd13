// ping's loop: requests on a timer, replies as they come, Ctrl-C as data on a descriptor.
#include "pinger.hpp"

#include <netdb.h>
#include <poll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <iostream>
#include <memory>

#include "error.hpp"
#include "icmp.hpp"
#include "ping_stats.hpp"

namespace sockserv {
namespace {

// One poll() waits at most this long (an hour); the loop works out the rest.
constexpr int64_t kMaxWaitNs = int64_t{3600} * 1'000'000'000;

// CLOCK_MONOTONIC: a round trip must not jump when someone sets the wall clock.
int64_t now_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// SIGINT turned into a readable descriptor: the signal is blocked, so the kernel queues it
// for signalfd() instead of interrupting us, and the poll() that waits for replies wakes up
// for it too. No handler, no global flag. The old mask comes back when ping is done.
class InterruptDescriptor {
 public:
  InterruptDescriptor() {
    sigset_t interrupt;
    sigemptyset(&interrupt);
    sigaddset(&interrupt, SIGINT);
    if (::sigprocmask(SIG_BLOCK, &interrupt, &old_mask_) < 0) throw_errno("sigprocmask");
    fd_ = UniqueFd(::signalfd(-1, &interrupt, SFD_CLOEXEC | SFD_NONBLOCK));
    if (!fd_) throw_errno("signalfd");
  }
  ~InterruptDescriptor() { ::sigprocmask(SIG_SETMASK, &old_mask_, nullptr); }
  InterruptDescriptor(const InterruptDescriptor&) = delete;
  InterruptDescriptor& operator=(const InterruptDescriptor&) = delete;
  int fd() const { return fd_.get(); }
  /// Reads the queued signal, so that it is not delivered when the old mask comes back.
  void consume() {
    signalfd_siginfo info{};
    if (::read(fd_.get(), &info, sizeof info) < 0 && errno != EAGAIN) throw_errno("read signalfd");
  }

 private:
  sigset_t old_mask_{};
  UniqueFd fd_;
};

class PingRun {
 public:
  PingRun(const IcmpSocket& socket, const PingSettings& settings, std::ostream& out)
      : socket_(socket),
        settings_(settings),
        out_(out),
        tally_(socket.id, settings.timeout_ns),
        from_target_(host_of(settings.target)) {}

  int run();

 private:
  bool more_to_send() const { return !settings_.count || sent_ < *settings_.count; }
  void print_header();
  void send_next(int64_t now);
  void read_replies();
  void read_queued_errors();
  void report(const ReceivedPacket& packet, int64_t now);
  void report_error(const EchoError& request, uint8_t type, uint8_t code,
                    const SocketAddress& from);
  void print_end_of_line();

  const IcmpSocket& socket_;
  const PingSettings& settings_;
  std::ostream& out_;
  PingTally tally_;
  std::string from_target_;
  uint64_t sent_ = 0;
};

int PingRun::run() {
  InterruptDescriptor interrupt;
  print_header();
  int64_t start = now_ns(), next_send = start;
  for (;;) {
    int64_t now = now_ns();
    if (more_to_send() && now >= next_send) {
      send_next(now);
      // On schedule, so that our own delays do not add up; but after a long stop (Ctrl-Z)
      // a fresh start rather than a burst of the requests missed.
      next_send += settings_.interval_ns;
      if (next_send < now) next_send = now + settings_.interval_ns;
    }
    if (!more_to_send() && tally_.none_waiting(now)) break;
    int64_t wake = more_to_send() ? next_send : tally_.next_timeout(now).value_or(now);
    int64_t wait_ns = std::clamp<int64_t>(wake - now, 0, kMaxWaitNs);
    int wait_ms = static_cast<int>((wait_ns + 999'999) / 1'000'000);
    pollfd fds[2] = {{socket_.fd.get(), POLLIN, 0}, {interrupt.fd(), POLLIN, 0}};
    if (::poll(fds, 2, wait_ms) < 0 && errno != EINTR) throw_errno("poll");
    if (fds[1].revents != 0) {  // Ctrl-C: the summary, as ping(8) prints it
      interrupt.consume();
      break;
    }
    if (fds[0].revents != 0) read_replies();
  }
  out_ << "\n" << summary_text(settings_.host, tally_, now_ns() - start) << std::flush;
  return tally_.received() > 0 ? 0 : 1;
}

void PingRun::print_header() {
  std::string size = std::to_string(settings_.payload_bytes);
  out_ << "PING " << settings_.host << " (" << from_target_ << ") ";
  if (socket_.version == IcmpVersion::v4) {
    // ping(8)'s "56(84)": the payload, then the whole IPv4 datagram (20 + 8 header bytes).
    out_ << size << "(" << settings_.payload_bytes + 28 << ") bytes of data.\n";
  } else {
    out_ << size << " data bytes\n";
  }
  out_ << std::flush;
}

void PingRun::send_next(int64_t now) {
  // ping(8) numbers its requests from 1; the wire has 16 bits for it.
  auto seq = static_cast<uint16_t>(++sent_ & 0xffff);
  std::vector<std::byte> payload = make_echo_payload(settings_.payload_bytes, now);
  // On a datagram socket the kernel puts its own identifier (socket_.id) in the header.
  std::vector<std::byte> packet = make_echo_request(socket_.version, socket_.id, seq, payload);
  tally_.sent(seq, now);
  try {
    send_packet(socket_, settings_.target, packet);
  } catch (const std::system_error& e) {
    // A refused send (no route, a full buffer) loses this request, not the run: ping(8) too.
    std::cerr << "ping: " << e.what() << "\n";
    tally_.error();
  }
}

void PingRun::read_replies() {
  if (socket_.kind == IcmpSocketKind::datagram) read_queued_errors();
  // Bounded: whatever arrives faster than we read waits for the next turn of the loop.
  for (int i = 0; i < 256; ++i) {
    std::optional<ReceivedPacket> packet;
    try {
      packet = receive_packet(socket_);
    } catch (const std::system_error& e) {
      // An ICMP error also ends one recvmsg of a datagram socket with its errno; the error
      // queue says which request it was about, on the next turn.
      if (socket_.kind == IcmpSocketKind::raw) std::cerr << "ping: " << e.what() << "\n";
      return;
    }
    if (!packet) return;
    report(*packet, now_ns());
  }
}

void PingRun::read_queued_errors() {
  for (int i = 0; i < 256; ++i) {
    std::optional<QueuedError> error = receive_queued_error(socket_);
    if (!error) return;
    // The kernel hands back the request we sent (with its identifier in it).
    std::optional<EchoError> request = parse_returned_request(socket_.version, error->request);
    if (request) report_error(*request, error->type, error->code, error->from);
  }
}

void PingRun::report(const ReceivedPacket& packet, int64_t now) {
  bool with_ip_header = socket_.kind == IcmpSocketKind::raw && socket_.version == IcmpVersion::v4;
  std::optional<EchoReply> reply = parse_echo_reply(socket_.version, with_ip_header, packet.bytes);
  if (!reply) {
    // A raw socket gets ICMP errors in its data: one may be about our request.
    std::optional<EchoError> error =
        parse_echo_error(socket_.version, with_ip_header, packet.bytes);
    if (error) report_error(*error, error->type, error->code, packet.from);
    return;  // else not an echo reply, or a damaged one
  }
  int64_t rtt = 0;
  ReplyKind kind = tally_.received(reply->id, reply->seq, now, reply->send_time_ns, rtt);
  if (kind == ReplyKind::foreign || settings_.quiet) return;  // foreign: another ping's reply
  std::optional<int> ttl = packet.ttl ? packet.ttl : reply->ttl;
  out_ << reply_line(reply->icmp_bytes, host_of(packet.from), reply->seq, ttl, rtt, kind);
  if (!reply->payload_intact) out_ << " (wrong data: the payload came back changed)";
  print_end_of_line();
}

void PingRun::report_error(const EchoError& request, uint8_t type, uint8_t code,
                           const SocketAddress& from) {
  if (!tally_.error_for(request.id, request.seq) || settings_.quiet) return;
  out_ << error_line(host_of(from), request.seq, icmp_error_text(socket_.version, type, code));
  print_end_of_line();
}

void PingRun::print_end_of_line() {
  out_ << std::endl;  // line by line, even into a pipe: someone may be watching
  // SIGPIPE is ignored (run_client): a reader that went away (ping | head -3) ends us here.
  if (!out_) throw std::runtime_error("cannot write the output");
}

struct AddrinfoFree {
  void operator()(addrinfo* list) const { ::freeaddrinfo(list); }
};

}  // namespace

int run_ping(const IcmpSocket& socket, const PingSettings& settings, std::ostream& out) {
  return PingRun(socket, settings, out).run();
}

SocketAddress resolve_host(const std::string& host, int family) {
  addrinfo hints{};
  hints.ai_family = family;
  hints.ai_socktype = SOCK_DGRAM;  // any one type, so each address comes once
  addrinfo* raw = nullptr;
  int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &raw);
  if (rc != 0) throw std::runtime_error(host + ": " + ::gai_strerror(rc));
  std::unique_ptr<addrinfo, AddrinfoFree> list(raw);
  SocketAddress address;
  std::memcpy(&address.storage, list->ai_addr, list->ai_addrlen);
  address.length = list->ai_addrlen;
  return address;
}

}  // namespace sockserv
