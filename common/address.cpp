// Parsing, resolving and printing addresses.
#include "address.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <charconv>
#include <cstring>
#include <memory>

#include "error.hpp"
#include "escape.hpp"

namespace sockserv {
namespace {

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

// Splits "HOST:PORT" or "[V6]:PORT" into host and port text.
std::pair<std::string, std::string_view> split_host_port(std::string_view text,
                                                         std::string_view original) {
  std::string host;
  std::string_view rest;
  if (starts_with(text, "[")) {
    size_t close = text.find(']');
    if (close == std::string_view::npos) {
      throw UsageError("bad address '" + std::string(original) + "': missing ']'");
    }
    host = std::string(text.substr(1, close - 1));
    rest = text.substr(close + 1);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      throw UsageError("bad address '" + std::string(original) + "': expected HOST:PORT");
    }
    host = std::string(text.substr(0, colon));
    if (host.find(':') != std::string::npos) {
      throw UsageError("bad address '" + std::string(original) +
                       "': write IPv6 addresses in brackets, as [::1]:7");
    }
    rest = text.substr(colon);
  }
  if (!starts_with(rest, ":") || rest.size() < 2) {
    throw UsageError("bad address '" + std::string(original) + "': expected a port after ':'");
  }
  if (host.empty()) {
    throw UsageError("bad address '" + std::string(original) + "': missing host");
  }
  return {host, rest.substr(1)};
}

struct AddrinfoDeleter {
  void operator()(addrinfo* list) const { ::freeaddrinfo(list); }
};

}  // namespace

std::string_view transport_name(Transport t) {
  switch (t) {
    case Transport::tcp:
      return "tcp";
    case Transport::udp:
      return "udp";
    case Transport::unix_stream:
      return "unix";
    case Transport::unix_dgram:
      return "unixgram";
  }
  return "?";
}

bool is_stream(Transport t) {
  return t == Transport::tcp || t == Transport::unix_stream;
}
bool is_unix(Transport t) {
  return t == Transport::unix_stream || t == Transport::unix_dgram;
}
int socket_type(Transport t) {
  return is_stream(t) ? SOCK_STREAM : SOCK_DGRAM;
}

uint16_t parse_port(std::string_view text) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value > 65535) {
    throw UsageError("bad port '" + std::string(text) + "': expected a number 0..65535");
  }
  return static_cast<uint16_t>(value);
}

Endpoint parse_endpoint(std::string_view text) {
  Endpoint endpoint;
  std::string_view rest = text;
  if (starts_with(rest, "unix:") || starts_with(rest, "unixgram:")) {
    endpoint.transport =
        starts_with(rest, "unix:") ? Transport::unix_stream : Transport::unix_dgram;
    endpoint.path = std::string(rest.substr(rest.find(':') + 1));
    if (endpoint.path.empty())
      throw UsageError("bad address '" + std::string(text) + "': empty path");
    unix_address(endpoint.path);  // checks the length now, at parse time
    return endpoint;
  }
  if (starts_with(rest, "udp:")) {
    endpoint.transport = Transport::udp;
    rest.remove_prefix(4);
  } else if (starts_with(rest, "tcp:")) {
    rest.remove_prefix(4);
  }
  auto [host, port] = split_host_port(rest, text);
  endpoint.host = host;
  endpoint.port = parse_port(port);
  return endpoint;
}

std::string to_string(const Endpoint& endpoint) {
  if (is_unix(endpoint.transport)) {
    return std::string(transport_name(endpoint.transport)) + ":" + endpoint.path;
  }
  std::string text = endpoint.transport == Transport::udp ? "udp:" : "";
  bool v6 = endpoint.host.find(':') != std::string::npos;
  text += v6 ? "[" + endpoint.host + "]" : endpoint.host;
  return text + ":" + std::to_string(endpoint.port);
}

uint16_t SocketAddress::port() const {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
  if (family() == AF_INET6)
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
  return 0;
}

std::string host_of(const SocketAddress& address) {
  if (address.family() == AF_UNIX) {
    const auto* un = reinterpret_cast<const sockaddr_un*>(&address.storage);
    size_t max = address.length > offsetof(sockaddr_un, sun_path)
                     ? address.length - offsetof(sockaddr_un, sun_path)
                     : 0;
    return std::string(un->sun_path, ::strnlen(un->sun_path, max));
  }
  if (address.family() == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&address.storage);
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
      // A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d; print them as IPv4.
      sockaddr_in in4{};
      in4.sin_family = AF_INET;
      std::memcpy(&in4.sin_addr, &in6->sin6_addr.s6_addr[12], 4);
      SocketAddress v4;
      std::memcpy(&v4.storage, &in4, sizeof in4);
      v4.length = sizeof in4;
      return host_of(v4);
    }
  }
  char host[NI_MAXHOST];
  // NI_NUMERICHOST: never a reverse DNS lookup, which could leave the machine and stall.
  int rc =
      ::getnameinfo(address.get(), address.length, host, sizeof host, nullptr, 0, NI_NUMERICHOST);
  if (rc != 0) return "?";
  return host;
}

std::string to_string(const SocketAddress& address) {
  // A unix client may bind its socket to any path it likes, newlines and ESC included: the
  // name is escaped so that it cannot forge a log line or reach a terminal raw.
  if (address.family() == AF_UNIX) return "unix:" + escape_text(host_of(address));
  std::string host = host_of(address);
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(address.port());
}

std::vector<SocketAddress> resolve(const Endpoint& endpoint, bool passive) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = socket_type(endpoint.transport);
  hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
  addrinfo* raw = nullptr;
  std::string port = std::to_string(endpoint.port);
  int rc = ::getaddrinfo(endpoint.host.c_str(), port.c_str(), &hints, &raw);
  if (rc != 0) {
    throw std::runtime_error("getaddrinfo " + to_string(endpoint) + ": " + ::gai_strerror(rc));
  }
  std::unique_ptr<addrinfo, AddrinfoDeleter> list(raw);
  std::vector<SocketAddress> result;
  for (const addrinfo* ai = list.get(); ai != nullptr; ai = ai->ai_next) {
    SocketAddress address;
    std::memcpy(&address.storage, ai->ai_addr, ai->ai_addrlen);
    address.length = ai->ai_addrlen;
    result.push_back(address);
  }
  return result;
}

SocketAddress unix_address(const std::string& path) {
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  if (path.size() >= sizeof un.sun_path) {
    throw UsageError("unix socket path too long (" + std::to_string(path.size()) +
                     " bytes, at most " + std::to_string(sizeof un.sun_path - 1) + "): " + path);
  }
  std::memcpy(un.sun_path, path.data(), path.size());
  SocketAddress address;
  std::memcpy(&address.storage, &un, sizeof un);
  address.length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
  return address;
}

}  // namespace sockserv
