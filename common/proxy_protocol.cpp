// Reading and checking HAProxy's PROXY header (see proxy_protocol.hpp).
#include "proxy_protocol.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <string_view>

#include "error.hpp"
#include "log.hpp"

namespace sockserv {
namespace {

using Status = ProxyParse::Status;

constexpr std::string_view kV1Prefix = "PROXY ";
constexpr size_t kV1MaxLength = 107;  // the spec's bound, CRLF included
constexpr std::array<unsigned char, 12> kV2Signature = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                                        0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
constexpr size_t kV2FixedLength = 16;  // signature, version/command, family, length

ProxyParse invalid(std::string error) {
  ProxyParse result;
  result.status = Status::invalid;
  result.error = std::move(error);
  return result;
}

ProxyParse complete(size_t length, std::optional<SocketAddress> client) {
  ProxyParse result;
  result.status = Status::complete;
  result.length = length;
  result.client = std::move(client);
  return result;
}

// True when `bytes` begins like `prefix` (as far as both go): more bytes may still decide.
template <typename Prefix>
bool starts_like(std::span<const std::byte> bytes, const Prefix& prefix) {
  size_t n = std::min(bytes.size(), prefix.size());
  return std::memcmp(bytes.data(), prefix.data(), n) == 0;
}

std::vector<std::string_view> split_spaces(std::string_view text) {
  std::vector<std::string_view> words;
  size_t start = 0;
  while (start <= text.size()) {
    size_t space = text.find(' ', start);
    if (space == std::string_view::npos) space = text.size();
    words.push_back(text.substr(start, space - start));
    start = space + 1;
  }
  return words;
}

// A v1 port: decimal 0..65535, no sign, no leading zero (the spec's form).
std::optional<uint16_t> v1_port(std::string_view text) {
  if (text.empty() || text.size() > 5 || (text.size() > 1 && text[0] == '0')) return std::nullopt;
  unsigned value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value > 65535)
    return std::nullopt;
  return static_cast<uint16_t>(value);
}

std::optional<SocketAddress> v1_address(std::string_view family, std::string_view host,
                                        uint16_t port) {
  SocketAddress address;
  std::string text(host);  // inet_pton wants a NUL-terminated string
  if (family == "TCP4") {
    auto* in = reinterpret_cast<sockaddr_in*>(&address.storage);
    if (::inet_pton(AF_INET, text.c_str(), &in->sin_addr) != 1) return std::nullopt;
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    address.length = sizeof(sockaddr_in);
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&address.storage);
    if (::inet_pton(AF_INET6, text.c_str(), &in6->sin6_addr) != 1) return std::nullopt;
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    address.length = sizeof(sockaddr_in6);
  }
  return address;
}

ProxyParse parse_v1(std::span<const std::byte> bytes) {
  std::string_view text(reinterpret_cast<const char*>(bytes.data()),
                        std::min(bytes.size(), kV1MaxLength));
  size_t end = text.find("\r\n");
  if (end == std::string_view::npos) {
    if (bytes.size() >= kV1MaxLength) return invalid("v1 header longer than 107 bytes");
    return ProxyParse{};  // the line is not over yet
  }
  size_t length = end + 2;
  std::vector<std::string_view> words = split_spaces(text.substr(0, end));
  // words[0] is "PROXY". UNKNOWN: the proxy could not tell (or checks its own health).
  if (words.size() >= 2 && words[1] == "UNKNOWN") return complete(length, std::nullopt);
  if (words.size() != 6 || (words[1] != "TCP4" && words[1] != "TCP6")) {
    return invalid("malformed v1 header");
  }
  std::optional<uint16_t> source_port = v1_port(words[4]);
  if (!source_port || !v1_port(words[5])) return invalid("bad port in v1 header");
  std::optional<SocketAddress> client = v1_address(words[1], words[2], *source_port);
  if (!client || !v1_address(words[1], words[3], 0)) return invalid("bad address in v1 header");
  return complete(length, client);
}

uint16_t big_endian_16(const std::byte* p) {
  return static_cast<uint16_t>((std::to_integer<unsigned>(p[0]) << 8) |
                               std::to_integer<unsigned>(p[1]));
}

ProxyParse parse_v2(std::span<const std::byte> bytes) {
  if (bytes.size() < kV2FixedLength) return ProxyParse{};
  unsigned version_command = std::to_integer<unsigned>(bytes[12]);
  unsigned family = std::to_integer<unsigned>(bytes[13]);
  size_t length = kV2FixedLength + big_endian_16(&bytes[14]);
  if ((version_command >> 4) != 2) return invalid("v2 header of an unknown version");
  unsigned command = version_command & 0x0F;
  if (command > 1) return invalid("v2 header with an unknown command");
  if (length > kMaxProxyHeader) return invalid("v2 header longer than we accept");
  if (bytes.size() < length) return ProxyParse{};
  // LOCAL (0): the proxy speaks for itself (a health check). Families other than TCP/UDP over
  // IPv4/IPv6 (unspecified, unix) carry no address we could use: keep the proxy's.
  unsigned address_family = family >> 4;
  if (command == 0 || (address_family != 1 && address_family != 2)) {
    return complete(length, std::nullopt);
  }
  const std::byte* body = &bytes[kV2FixedLength];
  size_t body_length = length - kV2FixedLength;
  SocketAddress client;
  if (address_family == 1) {  // IPv4: source, destination, source port, destination port
    if (body_length < 12) return invalid("v2 header too short for IPv4 addresses");
    auto* in = reinterpret_cast<sockaddr_in*>(&client.storage);
    in->sin_family = AF_INET;
    std::memcpy(&in->sin_addr, body, 4);
    std::memcpy(&in->sin_port, body + 8, 2);  // already in network order
    client.length = sizeof(sockaddr_in);
  } else {  // IPv6
    if (body_length < 36) return invalid("v2 header too short for IPv6 addresses");
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&client.storage);
    in6->sin6_family = AF_INET6;
    std::memcpy(&in6->sin6_addr, body, 16);
    std::memcpy(&in6->sin6_port, body + 32, 2);
    client.length = sizeof(sockaddr_in6);
  }
  return complete(length, client);  // TLVs after the addresses are skipped with the rest
}

}  // namespace

ProxyParse parse_proxy_header(std::span<const std::byte> bytes) {
  if (bytes.empty()) return ProxyParse{};
  if (starts_like(bytes, kV2Signature)) return parse_v2(bytes);
  if (starts_like(bytes, kV1Prefix)) {
    return bytes.size() < kV1Prefix.size() ? ProxyParse{} : parse_v1(bytes);
  }
  return invalid("no PROXY header");
}

ProxyParse read_proxy_header(int fd, Deadline deadline) {
  // Look at the bytes without taking them (MSG_PEEK), so nothing after the header is
  // consumed. While the header is incomplete, every byte seen belongs to it: take those,
  // so that the next wait sleeps until more arrive instead of reporting the same bytes.
  PollContext io;
  std::array<std::byte, kMaxProxyHeader> buffer;
  size_t taken = 0;
  for (;;) {
    auto free = std::span(buffer).subspan(taken);
    size_t seen = receive_some(fd, free, MSG_PEEK, deadline, io);
    if (seen == 0) throw ProtocolError("connection closed before its PROXY header");
    ProxyParse parse = parse_proxy_header(std::span(buffer).first(taken + seen));
    if (parse.status == Status::invalid) throw ProtocolError("PROXY header: " + parse.error);
    size_t to_take = parse.status == Status::complete ? parse.length - taken : seen;
    if (read_full(fd, free.first(to_take), deadline, io) != to_take) {
      throw ProtocolError("connection closed inside its PROXY header");
    }
    taken += to_take;
    if (parse.status == Status::complete) return parse;
    if (taken == buffer.size()) throw ProtocolError("PROXY header too long");
  }
}

bool ProxyGate::admit(Request& request) {
  if (!settings_.enabled || request.is_datagram) return true;
  // A unix socket's peers are local processes, allowed in by the file's permissions.
  bool inet = request.peer.family() == AF_INET || request.peer.family() == AF_INET6;
  if (inet && !trusted(request.peer)) {
    request.refusal = "untrusted-proxy";  // the access log's reason
    log_refusal(request.peer, "not a --trusted-proxy, refused");
    return false;
  }
  try {
    ProxyParse header =
        read_proxy_header(request.socket.get(), Deadline::after(settings_.header_timeout));
    if (header.client) {
      request.proxy = request.peer;
      request.peer = *header.client;
    }
    return true;
  } catch (const TimeoutError&) {
    request.refusal = "proxy-header";
    log_refusal(request.peer, "no complete PROXY header within " +
                                  std::to_string(settings_.header_timeout.count()) + " ms");
    return false;
  } catch (const std::exception& e) {
    request.refusal = "proxy-header";
    log_refusal(request.peer, e.what());
    return false;
  }
}

bool ProxyGate::trusted(const SocketAddress& peer) const {
  return std::any_of(settings_.trusted.begin(), settings_.trusted.end(),
                     [&](const Cidr& range) { return cidr_contains(range, peer); });
}

void ProxyGate::log_refusal(const SocketAddress& peer, const std::string& reason) {
  // Whoever can reach the port can make us log: at most one line a second, with a count.
  std::lock_guard lock(log_mutex_);
  Clock::time_point now = Clock::now();
  if (now - last_log_ < std::chrono::seconds(1)) {
    ++suppressed_;
    return;
  }
  std::string also = suppressed_ == 0 ? ""
                                      : " (and " + std::to_string(suppressed_) +
                                            " more refused since the last such line)";
  log_warning(to_string(peer), ": proxy protocol: ", reason, also);
  last_log_ = now;
  suppressed_ = 0;
}

}  // namespace sockserv
