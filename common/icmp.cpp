// ICMP echo packets: the bytes of RFC 792 (ICMPv4) and RFC 4443 section 4 (ICMPv6).
#include "icmp.hpp"

#include <algorithm>
#include <iterator>

namespace sockserv {
namespace {

// Message types of an echo exchange (RFC 792; RFC 4443 section 4).
constexpr uint8_t kEchoRequestV4 = 8, kEchoReplyV4 = 0;
constexpr uint8_t kEchoRequestV6 = 128, kEchoReplyV6 = 129;
constexpr size_t kMinIpv4HeaderBytes = 20;

uint8_t byte_at(std::span<const std::byte> data, size_t i) {
  return std::to_integer<uint8_t>(data[i]);
}

uint16_t be16_at(std::span<const std::byte> data, size_t i) {
  return static_cast<uint16_t>(byte_at(data, i) << 8 | byte_at(data, i + 1));
}

void put_be16(std::vector<std::byte>& out, size_t i, uint16_t value) {
  out[i] = std::byte(value >> 8);
  out[i + 1] = std::byte(value & 0xff);
}

// The pattern ping(8) writes after the timestamp: each byte is its own offset (mod 256).
std::byte pattern_byte(size_t offset) {
  return std::byte(offset & 0xff);
}

// The IPv4 header of a raw socket's packet: its length (IHL, in 32-bit words) and TTL.
// nullopt when it is not a plausible IPv4 header carrying ICMP.
struct Ipv4Header {
  size_t length;
  int ttl;
};
std::optional<Ipv4Header> ipv4_header(std::span<const std::byte> packet) {
  if (packet.size() < kMinIpv4HeaderBytes) return std::nullopt;
  uint8_t version_ihl = byte_at(packet, 0);
  size_t length = size_t{version_ihl & 0x0fu} * 4;
  constexpr uint8_t kProtocolIcmp = 1;
  if (version_ihl >> 4 != 4 || length < kMinIpv4HeaderBytes || length > packet.size() ||
      byte_at(packet, 9) != kProtocolIcmp) {
    return std::nullopt;
  }
  return Ipv4Header{length, byte_at(packet, 8)};
}

// The fixed IPv6 header (RFC 8200) quoted by an ICMPv6 error: 40 bytes, next header at 6.
constexpr size_t kIpv6HeaderBytes = 40;
constexpr uint8_t kNextHeaderIcmpv6 = 58;

bool is_error_type(IcmpVersion version, uint8_t type) {
  if (version == IcmpVersion::v4) return type == 3 || type == 11 || type == 12;
  return type >= 1 && type <= 4;  // unreachable, too big, time exceeded, parameter problem
}

}  // namespace

uint16_t internet_checksum(std::span<const std::byte> data) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < data.size(); i += 2) sum += be16_at(data, i);
  if (data.size() % 2 == 1) sum += uint32_t{byte_at(data, data.size() - 1)} << 8;
  while (sum >> 16 != 0) sum = (sum & 0xffff) + (sum >> 16);  // fold the carries back in
  return static_cast<uint16_t>(~sum);
}

std::vector<std::byte> make_echo_payload(size_t size, int64_t send_time_ns) {
  std::vector<std::byte> payload(size);
  size_t i = 0;
  if (size >= kTimestampBytes) {
    auto t = static_cast<uint64_t>(send_time_ns);
    for (; i < kTimestampBytes; ++i) payload[i] = std::byte((t >> (56 - 8 * i)) & 0xff);
  }
  for (; i < size; ++i) payload[i] = pattern_byte(i);
  return payload;
}

std::vector<std::byte> make_echo_request(IcmpVersion version, uint16_t id, uint16_t seq,
                                         std::span<const std::byte> payload) {
  std::vector<std::byte> packet(kIcmpHeaderBytes + payload.size());
  packet[0] = std::byte(version == IcmpVersion::v4 ? kEchoRequestV4 : kEchoRequestV6);
  packet[1] = std::byte{0};  // code: always 0 for echo
  put_be16(packet, 4, id);
  put_be16(packet, 6, seq);
  std::copy(payload.begin(), payload.end(), packet.begin() + kIcmpHeaderBytes);
  // Computed over the whole message with the checksum field still 0 (RFC 792).
  if (version == IcmpVersion::v4) put_be16(packet, 2, internet_checksum(packet));
  return packet;
}

std::optional<EchoReply> parse_echo_reply(IcmpVersion version, bool with_ip_header,
                                          std::span<const std::byte> packet) {
  EchoReply reply;
  if (with_ip_header) {
    std::optional<Ipv4Header> ip = ipv4_header(packet);
    if (!ip) return std::nullopt;
    reply.ttl = ip->ttl;
    packet = packet.subspan(ip->length);
  }
  if (packet.size() < kIcmpHeaderBytes) return std::nullopt;
  uint8_t want = version == IcmpVersion::v4 ? kEchoReplyV4 : kEchoReplyV6;
  if (byte_at(packet, 0) != want || byte_at(packet, 1) != 0) return std::nullopt;
  // A raw IPv4 socket gets packets before the kernel's ICMP code has checked them; the
  // kernel checks ICMPv6 checksums itself (they cover the IPv6 pseudo-header).
  if (version == IcmpVersion::v4 && internet_checksum(packet) != 0) return std::nullopt;
  reply.id = be16_at(packet, 4);
  reply.seq = be16_at(packet, 6);
  reply.icmp_bytes = packet.size();
  std::span<const std::byte> payload = packet.subspan(kIcmpHeaderBytes);
  size_t i = 0;
  if (payload.size() >= kTimestampBytes) {
    uint64_t t = 0;
    for (; i < kTimestampBytes; ++i) t = t << 8 | byte_at(payload, i);
    reply.send_time_ns = static_cast<int64_t>(t);
  }
  for (; i < payload.size(); ++i) {
    if (payload[i] != pattern_byte(i)) reply.payload_intact = false;
  }
  return reply;
}

std::optional<EchoError> parse_returned_request(IcmpVersion version,
                                                std::span<const std::byte> message) {
  uint8_t request = version == IcmpVersion::v4 ? kEchoRequestV4 : kEchoRequestV6;
  if (message.size() < kIcmpHeaderBytes || byte_at(message, 0) != request) return std::nullopt;
  return EchoError{.id = be16_at(message, 4), .seq = be16_at(message, 6)};
}

std::optional<EchoError> parse_echo_error(IcmpVersion version, bool with_ip_header,
                                          std::span<const std::byte> packet) {
  if (with_ip_header) {
    std::optional<Ipv4Header> ip = ipv4_header(packet);
    if (!ip) return std::nullopt;
    packet = packet.subspan(ip->length);
  }
  if (packet.size() < kIcmpHeaderBytes || !is_error_type(version, byte_at(packet, 0)))
    return std::nullopt;
  if (version == IcmpVersion::v4 && internet_checksum(packet) != 0) return std::nullopt;
  // After the error's own 8-byte header: the start of our packet, its IP header first.
  std::span<const std::byte> quoted = packet.subspan(kIcmpHeaderBytes);
  if (version == IcmpVersion::v4) {
    std::optional<Ipv4Header> inner = ipv4_header(quoted);
    if (!inner) return std::nullopt;
    quoted = quoted.subspan(inner->length);
  } else {
    if (quoted.size() < kIpv6HeaderBytes || byte_at(quoted, 0) >> 4 != 6 ||
        byte_at(quoted, 6) != kNextHeaderIcmpv6) {
      return std::nullopt;
    }
    quoted = quoted.subspan(kIpv6HeaderBytes);
  }
  std::optional<EchoError> error = parse_returned_request(version, quoted);
  if (!error) return std::nullopt;
  error->type = byte_at(packet, 0);
  error->code = byte_at(packet, 1);
  return error;
}

std::string icmp_error_text(IcmpVersion version, uint8_t type, uint8_t code) {
  if (version == IcmpVersion::v4) {
    static const char* const kUnreachable[] = {"Destination Net Unreachable",
                                               "Destination Host Unreachable",
                                               "Destination Protocol Unreachable",
                                               "Destination Port Unreachable",
                                               "Frag needed and DF set",
                                               "Source Route Failed",
                                               "Destination Net Unknown",
                                               "Destination Host Unknown",
                                               "Source Host Isolated",
                                               "Destination Net Prohibited",
                                               "Destination Host Prohibited",
                                               "Destination Net Unreachable for Type of Service",
                                               "Destination Host Unreachable for Type of Service",
                                               "Packet filtered"};
    if (type == 3 && code < std::size(kUnreachable)) return kUnreachable[code];
    if (type == 11) return code == 0 ? "Time to live exceeded" : "Frag reassembly time exceeded";
    if (type == 12) return "Parameter problem";
  } else {
    static const char* const kUnreachable[] = {"No route", "Administratively prohibited",
                                               "Beyond scope of source address",
                                               "Address unreachable", "Port unreachable"};
    if (type == 1 && code < std::size(kUnreachable))
      return std::string("Destination unreachable: ") + kUnreachable[code];
    if (type == 2) return "Packet too big";
    if (type == 3) return code == 0 ? "Time exceeded: Hop limit" : "Time exceeded: Defrag";
    if (type == 4) return "Parameter problem";
  }
  return "ICMP type " + std::to_string(type) + " code " + std::to_string(code);
}

}  // namespace sockserv
