// URLs of http-client: parsing an http:// or https:// URL (RFC 3986 as HTTP uses it, RFC 9110 4.2)
// and resolving a redirect's Location against the URL it came from (RFC 3986 5.2).
//
// Accepted:  http[s]://HOST[:PORT][/PATH][?QUERY][#FRAGMENT]   HOST a name, an IPv4 address or an
// IPv6 literal in brackets (http://[::1]:8080/). Without "scheme://" a URL is taken as http://,
// as curl does. The fragment never leaves the client. Bytes a request line may not carry
// (controls, space, non-ASCII...) are percent-encoded, so a URL can never split the request.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace sockserv {

/// A URL that cannot be used: its message says which part is wrong.
struct UrlError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// A well-formed URL of a scheme this program does not speak (ftp://...).
struct UnsupportedScheme : UrlError {
  using UrlError::UrlError;
};

struct Url {
  bool tls = false;    // https://: TLS, the server's certificate checked against `host`
  std::string host;    // a name, "127.0.0.1", or "::1" (without the brackets)
  uint16_t port = 80;  // 80 (443 for https) unless the URL names another
  std::string target;  // path and query as sent in the request line: "/", "/a?b=c"

  /// "host", "host:port", "[::1]:8080": the Host header (RFC 9110 7.2), port only if not
  /// the scheme's default (80, 443).
  std::string authority() const;
  /// The whole URL again: "http://[::1]:8080/a?b".
  std::string text() const;
  /// Same scheme, host and port (RFC 6454): credentials are not sent across origins.
  bool same_origin(const Url& other) const {
    return tls == other.tls && host == other.host && port == other.port;
  }
};

/// Parses an absolute URL. Throws UnsupportedScheme (ftp://...) or UrlError.
Url parse_url(std::string_view text);

/// The URL `reference` (a Location value: absolute, "//host/p", "/p", "p", "?q") names when
/// read from the page at `base` (RFC 3986 5.2, dot segments removed). Throws as parse_url.
Url resolve_reference(const Url& base, std::string_view reference);

/// RFC 3986 5.2.4: "/a/b/../c/./d" -> "/a/c/d". `path` starts with '/'.
std::string remove_dot_segments(std::string_view path);

}  // namespace sockserv
