// libFuzzer target for ping's reply and error parsers (common/icmp.hpp): whatever a socket delivers
// (the first byte of the input picks ICMPv4/ICMPv6 and whether an IPv4 header comes first),
// no crash and no read outside the packet; an accepted reply lies inside the packet, has
// code 0 and, for ICMPv4, a checksum that adds up. And every request we build, answered as a
// peer would, parses back with its identifier and sequence.
// Build and run: make fuzz-smoke (a fixed number of runs) or make fuzz (seeds: corpus/icmp_reply)
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "icmp.hpp"

namespace {

using sockserv::IcmpVersion;

void check_accepted(IcmpVersion version, bool with_ip_header, std::span<const std::byte> packet) {
  std::optional<sockserv::EchoReply> reply =
      sockserv::parse_echo_reply(version, with_ip_header, packet);
  if (!reply) return;
  if (reply->icmp_bytes < sockserv::kIcmpHeaderBytes || reply->icmp_bytes > packet.size())
    __builtin_trap();
  std::span<const std::byte> icmp = packet.last(reply->icmp_bytes);
  if (icmp[1] != std::byte{0}) __builtin_trap();
  if (version == IcmpVersion::v4 && sockserv::internet_checksum(icmp) != 0) __builtin_trap();
  if (with_ip_header != reply->ttl.has_value()) __builtin_trap();
}

// An error about a request of ours: never also a reply.
void check_error(IcmpVersion version, bool with_ip_header, std::span<const std::byte> packet) {
  if (!sockserv::parse_echo_error(version, with_ip_header, packet)) return;
  if (sockserv::parse_echo_reply(version, with_ip_header, packet)) __builtin_trap();
}

// The input as a request's payload: built, turned into the reply a peer sends, parsed back.
void check_round_trip(IcmpVersion version, std::span<const std::byte> payload) {
  uint16_t id = static_cast<uint16_t>(payload.size() * 7919),
           seq = static_cast<uint16_t>(payload.size());
  std::vector<std::byte> packet = sockserv::make_echo_request(version, id, seq, payload);
  packet[0] = std::byte(version == IcmpVersion::v4 ? 0 : 129);
  if (version == IcmpVersion::v4) {  // the type changed: the checksum as the peer computes it
    packet[2] = packet[3] = std::byte{0};
    uint16_t sum = sockserv::internet_checksum(packet);
    packet[2] = std::byte(sum >> 8);
    packet[3] = std::byte(sum & 0xff);
  }
  std::optional<sockserv::EchoReply> reply = sockserv::parse_echo_reply(version, false, packet);
  if (!reply || reply->id != id || reply->seq != seq || reply->icmp_bytes != packet.size())
    __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  IcmpVersion version = (data[0] & 1) != 0 ? IcmpVersion::v6 : IcmpVersion::v4;
  bool with_ip_header = (data[0] & 2) != 0;
  auto packet = std::as_bytes(std::span(data + 1, size - 1));
  check_accepted(version, with_ip_header, packet);
  check_error(version, with_ip_header, packet);
  if (packet.size() <= sockserv::kMaxPayloadBytes) check_round_trip(version, packet);
  return 0;
}
