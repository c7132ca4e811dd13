// Address ranges, per-source counts, per-source rates, and throttled refusal logs.
#include "access.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "error.hpp"
#include "log.hpp"

namespace sockserv {
namespace {

constexpr size_t kMaxTracked = 4096;  // sources remembered for rates and logs before pruning

std::array<uint8_t, 16> mapped_v4(const in_addr& v4) {
  std::array<uint8_t, 16> bytes{};
  bytes[10] = 0xff;
  bytes[11] = 0xff;
  std::memcpy(bytes.data() + 12, &v4, 4);
  return bytes;
}

// The 16 bytes of an inet or inet6 address (v4 mapped), or nullopt for other families.
std::optional<std::array<uint8_t, 16>> address_bytes(const SocketAddress& address) {
  if (address.family() == AF_INET) {
    return mapped_v4(reinterpret_cast<const sockaddr_in*>(&address.storage)->sin_addr);
  }
  if (address.family() == AF_INET6) {
    std::array<uint8_t, 16> bytes{};
    std::memcpy(bytes.data(), &reinterpret_cast<const sockaddr_in6*>(&address.storage)->sin6_addr,
                16);
    return bytes;
  }
  return std::nullopt;
}

bool any_contains(const std::vector<Cidr>& ranges, const SocketAddress& peer) {
  for (const Cidr& range : ranges) {
    if (cidr_contains(range, peer)) return true;
  }
  return false;
}

}  // namespace

Cidr parse_cidr(std::string_view text) {
  auto bad = [&](const char* why) {
    return UsageError("bad address range '" + std::string(text) + "': " + why);
  };
  size_t slash = text.find('/');
  std::string host(text.substr(0, slash));
  Cidr range;
  in_addr v4{};
  in6_addr v6{};
  int max_prefix = 0;
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    range.bytes = mapped_v4(v4);
    max_prefix = 32;
  } else if (::inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    std::memcpy(range.bytes.data(), &v6, 16);
    max_prefix = 128;
  } else {
    throw bad("expected a numeric IPv4 or IPv6 address, optionally /PREFIX");
  }
  int prefix = max_prefix;
  if (slash != std::string_view::npos) {
    std::string_view digits = text.substr(slash + 1);
    auto [end, err] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
    if (digits.empty() || err != std::errc() || end != digits.data() + digits.size() ||
        prefix < 0 || prefix > max_prefix) {
      throw bad(max_prefix == 32 ? "prefix must be 0..32" : "prefix must be 0..128");
    }
  }
  // A v4 prefix counts from the start of the mapped form: ::ffff:0:0/96 plus the v4 bits.
  range.prefix = max_prefix == 32 ? 96 + prefix : prefix;
  return range;
}

bool cidr_contains(const Cidr& range, const SocketAddress& address) {
  std::optional<std::array<uint8_t, 16>> bytes = address_bytes(address);
  if (!bytes) return false;
  int bits = range.prefix;
  for (size_t i = 0; i < 16 && bits > 0; ++i, bits -= 8) {
    uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
    if (((*bytes)[i] & mask) != (range.bytes[i] & mask)) return false;
  }
  return true;
}

std::optional<std::string> AccessPolicy::check(const SocketAddress& peer, std::string_view* kind) {
  Clock::time_point now = Clock::now();
  std::string host = host_of(peer);
  std::string_view refused_kind;
  std::optional<std::string> reason = refusal(peer, host, now, refused_kind);
  if (kind != nullptr) *kind = refused_kind;
  if (reason) {
    log_refusal(peer, host, *reason, now);
    return reason;
  }
  if (settings_.max_rate > 0) ++rate_[host].count;
  return std::nullopt;
}

std::optional<std::string> AccessPolicy::refusal(const SocketAddress& peer, const std::string& host,
                                                 Clock::time_point now, std::string_view& kind) {
  bool inet = peer.family() == AF_INET || peer.family() == AF_INET6;
  // Unix-socket peers have no address: the socket file's permissions decide who connects.
  kind = "denied";
  if (inet && any_contains(settings_.deny, peer)) return "matches --deny-from";
  if (inet && !settings_.allow.empty() && !any_contains(settings_.allow, peer)) {
    return "not in --allow-from";
  }
  kind = "per-source";
  if (settings_.max_per_source > 0 && in_flight(host) >= settings_.max_per_source) {
    return "already " + std::to_string(settings_.max_per_source) +
           " requests in flight (--max-per-source)";
  }
  kind = "rate";
  if (settings_.max_rate > 0) {
    if (rate_.size() > kMaxTracked) prune(now);
    Window& window = rate_[host];
    if (now - window.start >= std::chrono::seconds(1)) window = Window{now, 0};
    if (window.count >= settings_.max_rate) {
      return "more than " + std::to_string(settings_.max_rate) +
             " requests per second (--max-rate)";
    }
  }
  kind = {};
  return std::nullopt;
}

void AccessPolicy::log_refusal(const SocketAddress& peer, const std::string& host,
                               const std::string& reason, Clock::time_point now) {
  if (logged_.size() > kMaxTracked) prune(now);
  auto [mark, first] = logged_.try_emplace(host, LogMark{now, 0});
  if (!first && now - mark->second.last < settings_.log_interval) {
    ++mark->second.suppressed;  // one line per source per interval, never one per packet
    return;
  }
  std::string more;
  if (mark->second.suppressed > 0) {
    more = " (and " + std::to_string(mark->second.suppressed) + " more refusals from " + host +
           " not logged)";
  }
  log_warning("refused ", to_string(peer), ": ", reason, more);
  mark->second = LogMark{now, 0};
}

void AccessPolicy::prune(Clock::time_point now) {
  std::erase_if(rate_, [&](const auto& entry) {
    return now - entry.second.start >= std::chrono::seconds(1);
  });
  std::erase_if(logged_, [&](const auto& entry) {
    return now - entry.second.last >= settings_.log_interval;
  });
}

void AccessPolicy::opened(uint64_t id, const SocketAddress& peer) {
  if (settings_.max_per_source == 0) return;
  std::string host = host_of(peer);
  ++per_source_[host];
  requests_.emplace(id, std::move(host));
}

void AccessPolicy::closed(uint64_t id) {
  auto request = requests_.find(id);
  if (request == requests_.end()) return;
  auto count = per_source_.find(request->second);
  if (count != per_source_.end() && --count->second == 0) per_source_.erase(count);
  requests_.erase(request);
}

std::vector<std::pair<std::string, size_t>> AccessPolicy::busiest(size_t count) const {
  std::vector<std::pair<std::string, size_t>> sources(per_source_.begin(), per_source_.end());
  size_t shown = std::min(count, sources.size());
  std::partial_sort(sources.begin(), sources.begin() + static_cast<std::ptrdiff_t>(shown),
                    sources.end(),
                    [](const auto& a, const auto& b) { return a.second > b.second; });
  sources.resize(shown);
  return sources;
}

size_t AccessPolicy::in_flight(const std::string& host) const {
  auto count = per_source_.find(host);
  return count == per_source_.end() ? 0 : count->second;
}

}  // namespace sockserv
