// Who may connect, and how much: --allow-from/--deny-from address ranges (CIDR, v4 and v6),
// --max-per-source concurrent requests and --max-rate new requests per second per address.
//
// Like xinetd's only_from/no_access/per_source and tcpserver's rules, but inside the server,
// so a standalone server, a systemd socket and an inetd "wait" service all get them. For UDP
// the rate limit is what keeps echo and chargen from serving as traffic reflectors.
//
// All counting happens in the server's main loop (the thread that accepts), so it needs no
// locks: the models report a finished request there (a reaped child, a joined thread).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "address.hpp"
#include "io.hpp"

namespace sockserv {

/// An address range: IPv4 ranges are kept as IPv4-mapped IPv6 (::ffff:a.b.c.d/96+n), so one
/// comparison serves both families and a v4 client of a dual-stack socket matches a v4 rule.
struct Cidr {
  std::array<uint8_t, 16> bytes{};
  int prefix = 128;
};

/// Parses "10.0.0.0/8", "192.0.2.1" (a /32), "2001:db8::/32" or "::1"; throws UsageError.
Cidr parse_cidr(std::string_view text);
/// True when `address` (an inet or inet6 socket address) lies in `range`.
bool cidr_contains(const Cidr& range, const SocketAddress& address);

struct AccessSettings {
  std::vector<Cidr> allow;      // empty: everyone not denied
  std::vector<Cidr> deny;       // checked first: a denied address is refused even if allowed
  size_t max_per_source = 0;    // concurrent requests from one address (0: no limit)
  size_t max_rate = 0;          // new requests per second from one address (0: no limit)
  Millis log_interval{10'000};  // a refused source is logged at most once per interval
};

class AccessPolicy {
 public:
  explicit AccessPolicy(AccessSettings settings) : settings_(std::move(settings)) {}

  /// Decides about a new request from `peer`: nullopt admits it (and counts it toward the
  /// rate), otherwise the reason it is refused. The refusal is logged here, throttled.
  /// `kind`, if given, gets the access log's short name for it: denied, per-source or rate.
  std::optional<std::string> check(const SocketAddress& peer, std::string_view* kind = nullptr);
  /// A request admitted by check() is now in flight / has finished (per-source counting).
  void opened(uint64_t id, const SocketAddress& peer);
  void closed(uint64_t id);
  /// Requests in flight from `host` (the text of host_of()).
  size_t in_flight(const std::string& host) const;
  /// The `count` sources with the most requests in flight, most first (counted only while
  /// --max-per-source is set).
  std::vector<std::pair<std::string, size_t>> busiest(size_t count) const;

 private:
  struct Window {
    Clock::time_point start;
    size_t count = 0;
  };
  struct LogMark {
    Clock::time_point last;
    size_t suppressed = 0;
  };
  std::optional<std::string> refusal(const SocketAddress& peer, const std::string& host,
                                     Clock::time_point now, std::string_view& kind);
  void log_refusal(const SocketAddress& peer, const std::string& host, const std::string& reason,
                   Clock::time_point now);
  void prune(Clock::time_point now);

  AccessSettings settings_;
  std::unordered_map<std::string, size_t> per_source_;  // host -> requests in flight
  std::unordered_map<uint64_t, std::string> requests_;  // request id -> host
  std::unordered_map<std::string, Window> rate_;        // host -> this second's count
  std::unordered_map<std::string, LogMark> logged_;     // host -> last refusal logged
};

}  // namespace sockserv
