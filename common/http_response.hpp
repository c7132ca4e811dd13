// The head of an HTTP/1.x response as http-client reads it (RFC 9112): status line, header
// fields, and where the body ends (Content-Length, chunked, or the connection's close).
//
// Strict and bounded, since the bytes are the server's to choose: a head is at most
// kMaxResponseHead bytes and kMaxResponseFields fields, a field name is a token with the
// colon right after it, no byte is a control character but tab, a bare CR is refused, and
// conflicting Content-Length values are an error (request smuggling's raw material). Lines
// may end in CRLF or a lone LF (RFC 9112 2.2 allows a recipient to accept the latter).
// Pure functions over bytes: no socket here, so tests and the fuzz target call them directly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "error.hpp"

namespace sockserv {

inline constexpr size_t kMaxResponseHead = 64 * 1024;
inline constexpr size_t kMaxResponseFields = 256;

/// A response that breaks HTTP/1.1 or our limits; the message says how.
struct HttpResponseError : ProtocolError {
  using ProtocolError::ProtocolError;
};

struct HttpField {
  std::string name;   // as sent ("Content-Length"); compare without case
  std::string value;  // without the surrounding blanks
};

struct ResponseHead {
  int minor_version = 1;  // HTTP/1.0 or HTTP/1.1
  int status = 0;         // 100..599
  std::string reason;     // "Not Found" (may be empty)
  std::vector<HttpField> fields;

  /// The value of the first field called `name` (any case), or nullptr.
  const std::string* find(std::string_view name) const;
};

/// Where the head in `buffer` ends (the length up to and including its empty line), or
/// nullopt while it is incomplete. `from`: the length already searched (no end there), so a
/// caller that appends and searches again never rescans. Throws HttpResponseError when
/// kMaxResponseHead bytes hold no end.
std::optional<size_t> find_head_end(std::string_view buffer, size_t from = 0);

/// Parses a complete head (as find_head_end delimits it). Throws HttpResponseError.
ResponseHead parse_response_head(std::string_view head);

/// Parses one "Name: value" line (without its line end): a header or a chunked trailer field.
/// Throws HttpResponseError.
HttpField parse_field_line(std::string_view line);

/// How the body of a response is delimited (RFC 9112 6.3).
struct BodyFraming {
  enum class Kind { none, length, chunked, until_close };
  Kind kind = Kind::none;
  uint64_t length = 0;  // for Kind::length
};

/// The framing of the body that follows `head`; `head_request`: it answers a HEAD, so has no
/// body whatever its fields say. Throws HttpResponseError for a bad or conflicting
/// Content-Length and for transfer codings other than chunked.
BodyFraming body_framing(const ResponseHead& head, bool head_request);

/// True when `a` and `b` are equal ignoring ASCII case (field names, codings).
bool equal_ignoring_case(std::string_view a, std::string_view b);

}  // namespace sockserv
