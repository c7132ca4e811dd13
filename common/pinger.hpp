// The loop of ping(8): send an echo request every interval, print each reply as it comes,
// stop after the count (once every request is answered or timed out) or at Ctrl-C, then
// print the summary. One poll() waits for the socket, the next send time and the signal.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

#include "address.hpp"
#include "icmp_socket.hpp"

namespace sockserv {

struct PingSettings {
  std::string host;                     // as the user typed it: the summary's title
  SocketAddress target;                 // what it resolved to
  std::optional<uint64_t> count;        // -c: stop after this many requests; none: until Ctrl-C
  int64_t interval_ns = 1'000'000'000;  // -i: between requests
  int64_t timeout_ns = 10'000'000'000;  // -W: how long each request waits for its reply
  size_t payload_bytes = 56;            // -s
  bool quiet = false;                   // -q: the first line and the summary only
};

/// Pings as `settings` say over `socket`, printing to `out` as ping(8) does. Returns
/// ping(8)'s exit status: 0 when at least one reply came in time, 1 when none did.
/// SIGINT ends it early with the summary (it is blocked while this runs).
int run_ping(const IcmpSocket& socket, const PingSettings& settings, std::ostream& out);

/// Resolves HOST (a name or a numeric address) for `family` (AF_UNSPEC, AF_INET or
/// AF_INET6): the first address getaddrinfo gives. Throws std::runtime_error("HOST: why").
SocketAddress resolve_host(const std::string& host, int family);

}  // namespace sockserv
