// The PROXY protocol (HAProxy's, versions 1 and 2): a load balancer that relays a TCP
// connection to us first sends one header naming the client it relays for. Without it,
// every connection would seem to come from the proxy: logs, --allow-from, --max-per-source
// and SOCKSERV_PEER would all see the proxy's address instead of the client's.
//
//   v1 (text):   "PROXY TCP4 192.0.2.7 198.51.100.1 56324 7\r\n"     at most 107 bytes
//   v2 (binary): "\r\n\r\n\0\r\nQUIT\n", version/command, family, length (big-endian),
//                then the addresses, then optional TLVs (skipped here)
//
// The header is only believed from --trusted-proxy addresses: anyone else could name any
// client they like. A connection from elsewhere is refused, and so is one whose header is
// missing, malformed or late. "LOCAL" (v2) and "UNKNOWN" (v1) headers, which a proxy sends
// for its own health checks, keep the proxy's address.
//
// Spec: https://www.haproxy.org/download/2.6/doc/proxy-protocol.txt
#pragma once

#include <cstddef>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "access.hpp"
#include "address.hpp"
#include "io.hpp"
#include "request.hpp"

namespace sockserv {

/// The longest header we accept: a v1 line is at most 107 bytes; a v2 header from HAProxy is
/// 16 bytes plus 36 of IPv6 addresses plus a few TLVs. Anything longer is refused.
constexpr size_t kMaxProxyHeader = 1024;

/// What parse_proxy_header made of the bytes received so far.
struct ProxyParse {
  enum class Status { incomplete, complete, invalid };
  Status status = Status::incomplete;
  size_t length = 0;                    // complete: the header's bytes, to consume
  std::optional<SocketAddress> client;  // complete: the relayed client (none for LOCAL/UNKNOWN)
  std::string error;                    // invalid: what is wrong, for the log
};

/// Parses the start of a connection's bytes. Pure: reads nothing, so it is unit-tested and
/// fuzzed on its own. Bytes after the header are not looked at: they belong to the service.
ProxyParse parse_proxy_header(std::span<const std::byte> bytes);

struct ProxySettings {
  bool enabled = false;          // --proxy-protocol
  std::vector<Cidr> trusted;     // --trusted-proxy: who may send the header
  Millis header_timeout{2'000};  // a trusted proxy sends it at once, with the connection
};

/// Reads exactly the header from `fd` (never a byte of what follows it) within `deadline`.
/// Throws ProtocolError when it is malformed, TimeoutError when late.
ProxyParse read_proxy_header(int fd, Deadline deadline);

/// Applies the settings to each new connection, before the access rules see it.
class ProxyGate {
 public:
  explicit ProxyGate(ProxySettings settings) : settings_(std::move(settings)) {}

  /// True with `request.peer` replaced by the relayed client (the proxy's address kept in
  /// `request.proxy`); false when the connection must be closed (the reason is logged,
  /// at most once a second). A gate that is off admits everything as it is.
  bool admit(Request& request);

 private:
  bool trusted(const SocketAddress& peer) const;
  void log_refusal(const SocketAddress& peer, const std::string& reason);

  ProxySettings settings_;
  std::mutex log_mutex_;  // several threads accept under prethread and epoll
  Clock::time_point last_log_{};
  size_t suppressed_ = 0;
};

}  // namespace sockserv
