// Dropping datagrams that would start a ping-pong or that exceed a source's reply rate.
#include "datagram_guard.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <optional>
#include <string_view>
#include <utility>

#include "error.hpp"
#include "log.hpp"

namespace sockserv {
namespace {

constexpr std::array<uint16_t, 13> kReflectorPorts{7,   9,   13,  17,  19,   37,   53,
                                                   123, 137, 161, 389, 1900, 11211};

// The address as 16 bytes, IPv4 as IPv4-mapped IPv6, so that a v4 client of a dual-stack
// socket and the same client on a v4 socket are one source. nullopt: not an IP address.
std::optional<std::array<uint8_t, 16>> ip_bytes(const SocketAddress& address) {
  std::array<uint8_t, 16> bytes{};
  if (address.family() == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&address.storage);
    std::memcpy(bytes.data(), &in6->sin6_addr, 16);
    return bytes;
  }
  if (address.family() == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&address.storage);
    bytes[10] = bytes[11] = 0xff;
    std::memcpy(bytes.data() + 12, &in->sin_addr, 4);
    return bytes;
  }
  return std::nullopt;
}

const char* reason_text(DatagramGuard::Verdict why) {
  switch (why) {
    case DatagramGuard::Verdict::own_address:
      return "from this server's own address";
    case DatagramGuard::Verdict::reflector_port:
      return "from port 0 or an echo-like service's port";
    default:
      return "over --udp-rate";
  }
}

}  // namespace

void report_destination_addresses(int fd, int family) {
  int on = 1;
  // A dual-stack IPv6 socket receives IPv4 datagrams too; their destination comes as
  // IP_PKTINFO, so an AF_INET6 socket asks for both.
  if (::setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof on) < 0) throw_errno("IP_PKTINFO");
  if (family == AF_INET6 && ::setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on) < 0) {
    throw_errno("IPV6_RECVPKTINFO");
  }
}

ssize_t receive_with_destination(int fd, std::span<char> buffer, const SocketAddress& local,
                                 SocketAddress& peer, SocketAddress& arrived_on) {
  iovec data{buffer.data(), buffer.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(in6_pktinfo)) + CMSG_SPACE(sizeof(in_pktinfo))];
  msghdr message{};
  message.msg_name = peer.get();
  message.msg_namelen = sizeof peer.storage;
  message.msg_iov = &data;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  ssize_t n = ::recvmsg(fd, &message, MSG_TRUNC | MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  if (n < 0) return n;
  peer.length = message.msg_namelen;
  arrived_on = local;
  for (cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c)) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      in_pktinfo info{};
      std::memcpy(&info, CMSG_DATA(c), sizeof info);
      sockaddr_in in{};
      in.sin_family = AF_INET;
      in.sin_port = htons(local.port());
      in.sin_addr = info.ipi_addr;
      std::memcpy(&arrived_on.storage, &in, sizeof in);
      arrived_on.length = sizeof in;
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
      in6_pktinfo info{};
      std::memcpy(&info, CMSG_DATA(c), sizeof info);
      sockaddr_in6 in6{};
      in6.sin6_family = AF_INET6;
      in6.sin6_port = htons(local.port());
      in6.sin6_addr = info.ipi6_addr;
      std::memcpy(&arrived_on.storage, &in6, sizeof in6);
      arrived_on.length = sizeof in6;
    }
  }
  return n;
}

bool is_reflector_port(uint16_t port) {
  return std::find(kReflectorPorts.begin(), kReflectorPorts.end(), port) != kReflectorPorts.end();
}

DatagramGuard::DatagramGuard(DatagramGuardSettings settings) : settings_(settings) {}

DatagramGuard::Verdict DatagramGuard::check(const SocketAddress& peer,
                                            const SocketAddress& arrived_on,
                                            Clock::time_point now) {
  std::optional<std::array<uint8_t, 16>> source = ip_bytes(peer);
  if (!source) return Verdict::serve;  // unixgram: nobody can forge a unix peer's name
  Verdict verdict = Verdict::serve;
  bool own_port = std::find(own_ports_.begin(), own_ports_.end(), peer.port()) != own_ports_.end();
  if (own_port && source == ip_bytes(arrived_on)) {
    verdict = Verdict::own_address;
  } else if (peer.port() == 0 || is_reflector_port(peer.port())) {
    verdict = Verdict::reflector_port;
  } else if (settings_.rate_per_source > 0 && !take_token(*source, now)) {
    verdict = Verdict::rate_limited;
  }
  if (verdict != Verdict::serve) count_drop(verdict, peer, now);
  return verdict;
}

bool DatagramGuard::take_token(const std::array<uint8_t, 16>& address, Clock::time_point now) {
  // The table (160 KiB) is made at the first datagram, not with the server: a server with no
  // udp listener never needs it, and under --model fork every page the server has written
  // is one more page table entry that each fork() copies and each child's exit tears down.
  if (buckets_.empty()) buckets_.resize(kBuckets);
  std::string_view key(reinterpret_cast<const char*>(address.data()), address.size());
  Bucket& bucket = buckets_[std::hash<std::string_view>{}(key) % buckets_.size()];
  auto rate = static_cast<double>(settings_.rate_per_source);
  if (bucket.used) {
    double seconds = std::chrono::duration<double>(now - bucket.refilled).count();
    bucket.tokens = std::min(rate, bucket.tokens + seconds * rate);
  }
  bucket.refilled = now;
  if (!bucket.used || (bucket.address != address && bucket.tokens >= rate)) {
    // A new slot, or one whose owner is idle (its bucket full again): this address's now.
    bucket = Bucket{address, rate, now, true};
  }
  if (bucket.tokens < 1) return false;
  bucket.tokens -= 1;
  return true;
}

void DatagramGuard::count_drop(Verdict why, const SocketAddress& peer, Clock::time_point now) {
  auto index = static_cast<size_t>(why);
  ++dropped_[index];
  ++since_log_[index];
  busiest_ = to_string(peer);
  if (now - last_log_ < settings_.log_interval) return;
  last_log_ = now;
  std::string counts;
  for (Verdict v : {Verdict::own_address, Verdict::reflector_port, Verdict::rate_limited}) {
    uint64_t n = std::exchange(since_log_[static_cast<size_t>(v)], 0);
    if (n == 0) continue;
    counts += (counts.empty() ? "" : ", ") + std::to_string(n) + " " + reason_text(v);
  }
  log_warning("udp: dropped datagrams without a reply: ", counts, " (latest from ", busiest_,
              "; at most one such warning every ", settings_.log_interval.count() / 1000, " s)");
}

}  // namespace sockserv
