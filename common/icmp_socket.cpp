// Opening and using ICMP sockets: datagram ("ping") sockets where net.ipv4.ping_group_range
// allows them, raw sockets with root or CAP_NET_RAW, and why each socket option is there.
#include "icmp_socket.hpp"

#include <linux/errqueue.h>  // sock_extended_err: what IP_RECVERR queues
#include <linux/icmp.h>      // ICMP_FILTER: the raw socket filter of Linux
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "error.hpp"
#include "socket.hpp"

namespace sockserv {
namespace {

constexpr const char* kGroupRangeFile = "/proc/sys/net/ipv4/ping_group_range";

int protocol_of(int family) {
  return family == AF_INET6 ? int{IPPROTO_ICMPV6} : int{IPPROTO_ICMP};
}

// The sysctl as it stands ("1 0", nobody's group, is the kernel's default).
std::string group_range() {
  std::ifstream file(kGroupRangeFile);
  std::string low, high;
  if (!(file >> low >> high)) return "?";
  return low + " " + high;
}

std::string groups_of_process() {
  std::vector<gid_t> groups(static_cast<size_t>(std::max(0, ::getgroups(0, nullptr))));
  int n = ::getgroups(static_cast<int>(groups.size()), groups.data());
  std::string text = std::to_string(::getegid());
  for (int i = 0; i < std::max(0, n); ++i) {
    if (groups[static_cast<size_t>(i)] != ::getegid())
      text += " " + std::to_string(groups[static_cast<size_t>(i)]);
  }
  return text;
}

std::string why_not_datagram(int family, int err) {
  std::string call = std::string("socket(SOCK_DGRAM, ") +
                     (family == AF_INET6 ? "IPPROTO_ICMPV6" : "IPPROTO_ICMP") +
                     ") failed: " + std::strerror(err);
  if (err == EACCES || err == EPERM) {
    return "a datagram ICMP socket needs one of this process's groups (" + groups_of_process() +
           ") inside net.ipv4.ping_group_range, which is \"" + group_range() + "\" (" + call + ")";
  }
  return "this kernel offers no datagram ICMP sockets (" + call + ")";
}

std::string why_not_raw(int err) {
  return "a raw ICMP socket needs root or the capability CAP_NET_RAW (socket(SOCK_RAW) failed: " +
         std::string(std::strerror(err)) + ")";
}

// A ping socket is a datagram socket whose "port" is the echo identifier. Binding to port 0
// makes the kernel choose a free identifier now (it would at the first send otherwise), so
// that getsockname() can tell us which identifier our replies will carry.
uint16_t bind_identifier(int fd, int family) {
  SocketAddress any;
  any.storage.ss_family = static_cast<sa_family_t>(family);
  any.length = family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  if (::bind(fd, any.get(), any.length) < 0) throw_errno("bind ICMP datagram socket");
  return local_address(fd).port();
}

// A raw socket receives every ICMP message of the host (other pings' replies, our own
// requests on loopback, redirects...). The kernel's filter lets through only echo replies and
// the errors that may be about our requests, before they wake us.
void accept_only_replies_and_errors(int fd, int family) {
  if (family == AF_INET6) {
    icmp6_filter filter{};
    ICMP6_FILTER_SETBLOCKALL(&filter);
    for (int type : {ICMP6_ECHO_REPLY, ICMP6_DST_UNREACH, ICMP6_PACKET_TOO_BIG, ICMP6_TIME_EXCEEDED,
                     ICMP6_PARAM_PROB})
      ICMP6_FILTER_SETPASS(type, &filter);
    if (::setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof filter) < 0)
      throw_errno("setsockopt ICMP6_FILTER");
  } else {
    uint32_t pass = 1U << ICMP_ECHOREPLY | 1U << ICMP_DEST_UNREACH | 1U << ICMP_TIME_EXCEEDED |
                    1U << ICMP_PARAMETERPROB;
    icmp_filter filter{.data = ~pass};  // a set bit blocks that type
    if (::setsockopt(fd, SOL_RAW, ICMP_FILTER, &filter, sizeof filter) < 0)
      throw_errno("setsockopt ICMP_FILTER");
  }
}

// A datagram socket never sees ICMP errors in its data: IP_RECVERR asks the kernel to queue
// each (a router's "time to live exceeded" for our -t) with the reporter's address, to be
// read with recvmsg(MSG_ERRQUEUE).
void queue_errors(int fd, int family) {
  if (family == AF_INET6) {
    set_int_option(fd, IPPROTO_IPV6, IPV6_RECVERR, 1, "IPV6_RECVERR");
  } else {
    set_int_option(fd, IPPROTO_IP, IP_RECVERR, 1, "IP_RECVERR");
  }
}

IcmpSocket set_up(UniqueFd fd, int family, IcmpSocketKind kind) {
  IcmpSocket socket;
  socket.version = family == AF_INET6 ? IcmpVersion::v6 : IcmpVersion::v4;
  socket.kind = kind;
  if (kind == IcmpSocketKind::datagram) {
    socket.id = bind_identifier(fd.get(), family);
    queue_errors(fd.get(), family);
  } else {
    // Raw sockets leave the identifier to us: the process id, as ping(8) does, so that
    // two pings running at once tell their replies apart.
    socket.id = static_cast<uint16_t>(::getpid() & 0xffff);
    accept_only_replies_and_errors(fd.get(), family);
  }
  // Ask for each reply's TTL (hop limit) as ancillary data, for the reply lines: ICMPv6 and
  // datagram sockets never show us the IP header that holds it.
  if (family == AF_INET6) {
    set_int_option(fd.get(), IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1, "IPV6_RECVHOPLIMIT");
  } else {
    set_int_option(fd.get(), IPPROTO_IP, IP_RECVTTL, 1, "IP_RECVTTL");
  }
  socket.fd = std::move(fd);
  return socket;
}

// SOCK_NONBLOCK: ping waits in poll() for a reply, a timeout or Ctrl-C, never in recvmsg.
UniqueFd try_socket(int family, int type) {
  return UniqueFd(::socket(family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, protocol_of(family)));
}

std::optional<int> ttl_from(msghdr& message) {
  for (cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c)) {
    bool v4 = c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL;
    bool v6 = c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT;
    if ((v4 || v6) && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
      int value = 0;
      std::memcpy(&value, CMSG_DATA(c), sizeof value);
      return value;
    }
  }
  return std::nullopt;
}

}  // namespace

IcmpSocket open_icmp_socket(int family, IcmpSocketChoice choice) {
  int datagram_error = 0, raw_error = 0;
  // The datagram kind first, as iputils ping does: it needs no privilege, and the kernel
  // hands it only its own replies.
  if (choice != IcmpSocketChoice::raw) {
    if (UniqueFd fd = try_socket(family, SOCK_DGRAM))
      return set_up(std::move(fd), family, IcmpSocketKind::datagram);
    datagram_error = errno;
  }
  if (choice != IcmpSocketChoice::datagram) {
    if (UniqueFd fd = try_socket(family, SOCK_RAW))
      return set_up(std::move(fd), family, IcmpSocketKind::raw);
    raw_error = errno;
  }
  std::string message = "cannot open an ICMP socket: ";
  if (datagram_error != 0) message += why_not_datagram(family, datagram_error);
  if (datagram_error != 0 && raw_error != 0) message += "; and ";
  if (raw_error != 0) message += why_not_raw(raw_error);
  throw IcmpSocketRefused(message);
}

void set_hop_limit(const IcmpSocket& socket, int hops) {
  if (socket.version == IcmpVersion::v6) {
    set_int_option(socket.fd.get(), IPPROTO_IPV6, IPV6_UNICAST_HOPS, hops, "IPV6_UNICAST_HOPS");
  } else {
    set_int_option(socket.fd.get(), IPPROTO_IP, IP_TTL, hops, "IP_TTL");
  }
}

void send_packet(const IcmpSocket& socket, const SocketAddress& to,
                 std::span<const std::byte> packet) {
  // sendto() on an unconnected socket: ICMP has no ports, the address names the host only.
  ssize_t n = ::sendto(socket.fd.get(), packet.data(), packet.size(), 0, to.get(), to.length);
  if (n < 0) throw_errno("sendto");
}

std::optional<ReceivedPacket> receive_packet(const IcmpSocket& socket) {
  ReceivedPacket packet;
  packet.bytes.resize(65536);  // the largest IP datagram
  iovec data{packet.bytes.data(), packet.bytes.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int)) * 4];
  msghdr message{};
  message.msg_name = &packet.from.storage;
  message.msg_namelen = sizeof packet.from.storage;
  message.msg_iov = &data;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  // recvmsg, not recv: the TTL comes as ancillary data, the sender's address with it.
  ssize_t n = ::recvmsg(socket.fd.get(), &message, 0);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return std::nullopt;
    throw_errno("recvmsg");
  }
  packet.from.length = message.msg_namelen;
  packet.bytes.resize(static_cast<size_t>(n));
  packet.ttl = ttl_from(message);
  return packet;
}

std::optional<QueuedError> receive_queued_error(const IcmpSocket& socket) {
  for (int i = 0; i < 64; ++i) {  // bounded: errors of local origin are skipped
    QueuedError error;
    error.request.resize(65536);
    iovec data{error.request.data(), error.request.size()};
    alignas(cmsghdr) char control[512];
    msghdr message{};
    message.msg_iov = &data;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    ssize_t n = ::recvmsg(socket.fd.get(), &message, MSG_ERRQUEUE);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return std::nullopt;
      throw_errno("recvmsg MSG_ERRQUEUE");
    }
    error.request.resize(static_cast<size_t>(n));
    for (cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c)) {
      bool v4 = c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR;
      bool v6 = c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR;
      if (!(v4 || v6) || c->cmsg_len < CMSG_LEN(sizeof(sock_extended_err))) continue;
      sock_extended_err ee{};
      std::memcpy(&ee, CMSG_DATA(c), sizeof ee);
      if (ee.ee_origin != SO_EE_ORIGIN_ICMP && ee.ee_origin != SO_EE_ORIGIN_ICMP6) continue;
      error.type = ee.ee_type;
      error.code = ee.ee_code;
      // The reporter's address follows the structure (SO_EE_OFFENDER).
      size_t room = c->cmsg_len - CMSG_LEN(sizeof ee);
      size_t length = std::min(room, v6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in));
      std::memcpy(&error.from.storage, CMSG_DATA(c) + sizeof ee, length);
      error.from.length = static_cast<socklen_t>(length);
      return error;
    }
  }
  return std::nullopt;
}

std::string describe(const IcmpSocket& socket) {
  return socket.kind == IcmpSocketKind::datagram
             ? "a datagram ICMP socket (allowed by net.ipv4.ping_group_range), identifier " +
                   std::to_string(socket.id)
             : "a raw ICMP socket (root or CAP_NET_RAW), identifier " + std::to_string(socket.id);
}

}  // namespace sockserv
