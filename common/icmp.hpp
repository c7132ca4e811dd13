// ICMP and ICMPv6 echo packets (RFC 792, RFC 4443): building a request and checking a reply.
//
// No sockets here: these functions only turn bytes into packets and back, so they are
// tested on their own (tests/unit/icmp_test.cpp), malformed and short packets included.
// An echo message is an 8-byte header (type, code, checksum, identifier, sequence) and a
// payload that the peer sends back unchanged; ping puts its send time at the payload's start.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace sockserv {

/// Which ICMP: version 4 (IPPROTO_ICMP) or version 6 (IPPROTO_ICMPV6).
enum class IcmpVersion { v4, v6 };

inline constexpr size_t kIcmpHeaderBytes = 8;
/// The timestamp at the start of a payload: nanoseconds of CLOCK_MONOTONIC, big-endian.
inline constexpr size_t kTimestampBytes = 8;
/// The largest payload: an IPv4 datagram of 65535 bytes less its IP and ICMP headers.
inline constexpr size_t kMaxPayloadBytes = 65535 - 20 - kIcmpHeaderBytes;

/// The Internet checksum (RFC 1071): the ones' complement of the ones' complement sum of
/// 16-bit big-endian words, an odd last byte padded with zero. A packet that carries its
/// checksum sums to 0 when checked this way.
uint16_t internet_checksum(std::span<const std::byte> data);

/// The payload of a request: the send time (when the payload has room for it) followed by
/// the bytes 8, 9, 10... as ping(8) fills it, so a reply's payload can be checked.
std::vector<std::byte> make_echo_payload(size_t size, int64_t send_time_ns);

/// An echo request with `id`, `seq` and `payload`. For ICMPv4 the checksum is filled in (a raw
/// socket sends what we give it); for ICMPv6 the kernel computes it (it covers the IPv6
/// addresses, which only the kernel knows for sure), so it is left 0.
std::vector<std::byte> make_echo_request(IcmpVersion version, uint16_t id, uint16_t seq,
                                         std::span<const std::byte> payload);

/// What a received echo reply says.
struct EchoReply {
  uint16_t id = 0;
  uint16_t seq = 0;
  size_t icmp_bytes = 0;                // header + payload, as ping(8) prints "64 bytes"
  std::optional<int64_t> send_time_ns;  // from the payload, when it is long enough
  bool payload_intact = true;           // the bytes after the timestamp are what we sent
  std::optional<int> ttl;               // from the IPv4 header, when the packet had one
};

/// Parses what a socket received. `with_ip_header`: the packet starts with an IPv4 header
/// (raw IPv4 sockets); datagram ICMP sockets and every ICMPv6 socket deliver the ICMP message
/// alone. Returns nullopt for anything that is not a well-formed echo reply: too short, a
/// bad IP header, a bad ICMPv4 checksum, another ICMP type (our own echo requests reach a raw
/// socket on loopback too), a non-zero code.
std::optional<EchoReply> parse_echo_reply(IcmpVersion version, bool with_ip_header,
                                          std::span<const std::byte> packet);

/// An ICMP error about one of our echo requests (a router's "time to live exceeded", a
/// "destination unreachable"): which request it quotes, and what happened.
struct EchoError {
  uint16_t id = 0;
  uint16_t seq = 0;
  uint8_t type = 0;
  uint8_t code = 0;
};

/// Parses an ICMP error message as a raw socket receives it (`with_ip_header` as for
/// parse_echo_reply). An error quotes the start of the packet it is about (RFC 792: its IP
/// header and 8 bytes; RFC 4443: as much as fits); nullopt unless that is an echo request.
std::optional<EchoError> parse_echo_error(IcmpVersion version, bool with_ip_header,
                                          std::span<const std::byte> packet);

/// The identifier and sequence of an echo request that the kernel hands back with an error
/// (a datagram socket's error queue returns the ICMP message we sent). nullopt when it is
/// not an echo request.
std::optional<EchoError> parse_returned_request(IcmpVersion version,
                                                std::span<const std::byte> message);

/// What ping(8) prints for an ICMP error: "Time to live exceeded", "Destination Host
/// Unreachable", ...
std::string icmp_error_text(IcmpVersion version, uint8_t type, uint8_t code);

}  // namespace sockserv
