// The two ways a Linux program may send ICMP echo requests (docs/ping.md):
//
//   socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)   a "ping socket": no privilege needed when a
//       group of the process is in net.ipv4.ping_group_range (it covers ICMPv6 too). The
//       kernel owns the identifier (the socket's "port"), fills in the checksum, and delivers
//       only the echo replies carrying that identifier, without the IP header.
//   socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)     root or CAP_NET_RAW. We write the whole ICMP
//       message; every ICMP packet the host receives arrives, after its IPv4 header (ICMPv6
//       raw sockets get the message alone, and the kernel does the checksum).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "address.hpp"
#include "fd.hpp"
#include "icmp.hpp"

namespace sockserv {

enum class IcmpSocketKind { datagram, raw };
/// What the user asked for: try datagram then raw (as iputils ping), or only one of them.
enum class IcmpSocketChoice { automatic, datagram, raw };

/// Neither kind of ICMP socket could be opened; the message says what is missing.
struct IcmpSocketRefused : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// An open, non-blocking ICMP socket and the identifier its replies carry.
struct IcmpSocket {
  UniqueFd fd;
  IcmpVersion version = IcmpVersion::v4;
  IcmpSocketKind kind = IcmpSocketKind::datagram;
  uint16_t id = 0;  // datagram: the kernel's choice (getsockname); raw: our process id
};

/// Opens an ICMP socket for `family` (AF_INET or AF_INET6) as `choice` allows, set up to
/// report each reply's TTL (hop limit) and ICMP errors about our requests; a raw one receives
/// only echo replies and errors. Throws IcmpSocketRefused naming the sysctl and the
/// capability when no kind is allowed.
IcmpSocket open_icmp_socket(int family, IcmpSocketChoice choice);

/// Sets the TTL (IPv4) or unicast hop limit (IPv6) of the requests sent.
void set_hop_limit(const IcmpSocket& socket, int hops);

/// Sends one ICMP message to `to`. Throws std::system_error (ENETUNREACH...).
void send_packet(const IcmpSocket& socket, const SocketAddress& to,
                 std::span<const std::byte> packet);

/// One packet as it was received.
struct ReceivedPacket {
  std::vector<std::byte> bytes;  // starting with the IPv4 header on a raw IPv4 socket
  SocketAddress from;
  std::optional<int> ttl;  // from the ancillary data (IP_TTL / IPV6_HOPLIMIT)
};

/// The next packet waiting on the socket, or nullopt when none is (EAGAIN). A pending error
/// for an earlier request (an ICMP "unreachable" on a datagram socket) is thrown as a
/// std::system_error.
std::optional<ReceivedPacket> receive_packet(const IcmpSocket& socket);

/// An ICMP error the kernel queued for a datagram socket (IP_RECVERR).
struct QueuedError {
  std::vector<std::byte> request;  // the ICMP message we sent, as the kernel returns it
  SocketAddress from;              // who reported it (a router)
  uint8_t type = 0;                // ICMP type and code of the error
  uint8_t code = 0;
};

/// The next ICMP error in a datagram socket's error queue, or nullopt when none is queued.
/// Errors of local origin (a failed send, already reported by sendto) are skipped.
std::optional<QueuedError> receive_queued_error(const IcmpSocket& socket);

/// A sentence for the user: "datagram ICMP socket (net.ipv4.ping_group_range)" or
/// "raw ICMP socket (root or CAP_NET_RAW)".
std::string describe(const IcmpSocket& socket);

}  // namespace sockserv
