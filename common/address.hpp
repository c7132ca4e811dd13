// Addresses: parsing what a user types (--listen, a client's ADDR), resolving it, and
// printing a socket address back in numeric form.
//
// Accepted forms:  HOST:PORT   [V6]:PORT   tcp:HOST:PORT   udp:HOST:PORT   udp:[V6]:PORT
//                  unix:PATH   unixgram:PATH
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sockserv {

enum class Transport { tcp, udp, unix_stream, unix_dgram };

/// "tcp", "udp", "unix" or "unixgram": the prefix used in addresses.
std::string_view transport_name(Transport t);
/// True for tcp and unix (connections), false for udp and unixgram (datagrams).
bool is_stream(Transport t);
bool is_unix(Transport t);

/// What the user asked for, before any name is looked up.
struct Endpoint {
  Transport transport = Transport::tcp;
  std::string host;  // numeric address or name; empty for unix transports
  uint16_t port = 0;
  std::string path;  // unix transports only
};

/// Parses one of the forms above; throws UsageError naming the bad part.
Endpoint parse_endpoint(std::string_view text);
/// Parses a port number 0..65535; throws UsageError otherwise.
uint16_t parse_port(std::string_view text);
/// The canonical text of an endpoint: "udp:[::1]:7", "127.0.0.1:7", "unix:/run/echo".
std::string to_string(const Endpoint& endpoint);

/// A concrete socket address, as the kernel takes and returns it.
struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;

  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
  sockaddr* get() { return reinterpret_cast<sockaddr*>(&storage); }
  int family() const { return storage.ss_family; }
  /// The port of an inet address (0 for unix ones).
  uint16_t port() const;
};

/// Numeric text of an address, never a name lookup (NI_NUMERICHOST): "127.0.0.1:5000",
/// "[::1]:5000", "unix:/path". IPv4-mapped IPv6 peers (::ffff:a.b.c.d) print as IPv4.
std::string to_string(const SocketAddress& address);
/// The host part only ("127.0.0.1", "::1", or the unix path); used by per-source limits.
std::string host_of(const SocketAddress& address);

/// Resolves an inet endpoint (getaddrinfo); `passive` asks for addresses to bind to.
/// Names are allowed, numeric hosts are never looked up. Throws on failure.
std::vector<SocketAddress> resolve(const Endpoint& endpoint, bool passive);
/// The sockaddr_un of a unix endpoint; throws UsageError when the path is too long.
SocketAddress unix_address(const std::string& path);

/// The socket type (SOCK_STREAM or SOCK_DGRAM) of a transport.
int socket_type(Transport t);

}  // namespace sockserv
