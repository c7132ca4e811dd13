// The HTTP/1.x request head (RFC 9112): finding where it ends in the bytes received, and
// parsing it strictly, within fixed limits, into an HttpRequest (http-server; seed 002's
// "Hello World" web server, which read one recv() and hoped the request was in it).
//
// Nothing here touches a socket, so a fuzz target (tests/fuzz/http_request_fuzz.cpp) and the
// unit tests drive it alone. A request that breaks a rule is not repaired: it gets its status
// (400, 413, 414, 431, 501, 505) and the connection is closed, since after a malformed head
// nobody can tell where the next request would begin.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sockserv {

/// The request line at most 8 KiB (else 414), the header fields together at most 8 KiB and
/// 100 fields (else 431): what nginx and Apache allow by default, and far more than browsers
/// send.
inline constexpr size_t kMaxRequestLine = 8 * 1024;
inline constexpr size_t kMaxHeaderBytes = 8 * 1024;
inline constexpr size_t kMaxHeaderFields = 100;
/// The most a head can take in a buffer before scan_http_head decides: the two limits, their
/// line ends and the blank line.
inline constexpr size_t kMaxHeadBytes = kMaxRequestLine + kMaxHeaderBytes + 8;

/// Where the head stands in the bytes received so far.
struct HeadScan {
  enum class Status { incomplete, complete, too_long };
  Status status = Status::incomplete;
  size_t length = 0;  // complete: the bytes of the head, blank line included
  int error = 0;      // too_long: 414 (request line) or 431 (header fields)
};

/// Looks for the end of the head at the start of `bytes` (empty lines before the request
/// line must already be dropped: see skip_leading_empty_lines). Lines end with CRLF or a bare
/// LF. Decides as soon as a limit is passed, so a caller never buffers more than
/// kMaxHeadBytes.
HeadScan scan_http_head(std::string_view bytes);

/// RFC 9112 2.2: a server should ignore empty lines before a request line (some clients send
/// a CRLF after a POST body). Returns how many bytes at the start of `bytes` are such lines.
size_t skip_leading_empty_lines(std::string_view bytes);

/// One parsed request head.
struct HttpRequest {
  std::string method;     // "GET", "HEAD" (anything else is refused with 501)
  std::string target;     // as sent: "/a%20b?x=1" or "http://host/a%20b"
  std::string path;       // the target's path, percent-decoded once: "/a b"
  std::string raw_path;   // the same path as sent, not decoded (for a redirect's Location)
  int minor_version = 1;  // HTTP/1.0 or HTTP/1.1 (a higher 1.x is answered as 1.1)
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, values trimmed

  /// The value of the header `lower_name` (the first one), or nullopt.
  std::optional<std::string_view> header(std::string_view lower_name) const;
  /// Whether the connection may carry another request after this one (RFC 9112 9.3):
  /// HTTP/1.1 unless "Connection: close"; HTTP/1.0 only with "Connection: keep-alive".
  bool keep_alive() const;
  bool is_head() const { return method == "HEAD"; }
};

/// The outcome of parse_http_head: a request, or the status that refuses it.
struct HeadParse {
  std::optional<HttpRequest> request;  // set when the head is acceptable
  int status = 0;                      // else 400, 413, 501 or 505
  std::string problem;                 // why, in our words, for the server's log (never sent)
  /// The request line when it could be split (method, target, version), even when refused:
  /// the access log's "%r". Empty when the line itself is malformed.
  std::string request_line;
};

/// Parses a complete head (HeadScan::length bytes). Only GET and HEAD are served: another
/// well-formed method gets 501, a body on them 413, a version other than 1.x 505, anything
/// malformed (bad characters, a missing or repeated Host in 1.1, obs-fold, a path that
/// does not decode) 400.
HeadParse parse_http_head(std::string_view head);

/// Percent-decodes `text` once ("%41" -> "A"); nullopt when a '%' is not followed by two hex
/// digits. "+" stays "+" (it means a space only in form bodies, not in paths).
std::optional<std::string> percent_decode(std::string_view text);

/// The tokens of a comma-separated header value, lower-cased and trimmed ("keep-alive").
std::vector<std::string> header_tokens(std::string_view value);

}  // namespace sockserv
