// HTTP/1.1 answers as http-server writes them (RFC 9110, RFC 9112): the status line and fields,
// the small error pages, and HTTP dates (IMF-fixdate, as Date and Last-Modified carry them).
#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fd.hpp"

namespace sockserv {

/// "OK", "Not Found"... for the statuses http-server sends ("" for any other).
std::string_view http_reason(int status);

/// An answer's head; the body is sent after it (a string, or a file with sendfile).
struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // besides the ones below
  std::string content_type;                                  // "" for none (304)
  std::optional<unsigned long long> content_length;          // unset: none (304)
  bool close = false;           // "Connection: close", and the connection ends after this answer
  bool keep_alive_1_0 = false;  // an HTTP/1.0 client asked to keep the connection: say yes

  void add(std::string name, std::string value);
};

/// A whole answer: the head, then `body`, or `count` bytes of `file` from `offset` (sent
/// with sendfile). A HEAD request gets the same head and no body.
struct HttpReply {
  HttpResponse response;
  std::string body;
  UniqueFd file;
  unsigned long long offset = 0;
  unsigned long long count = 0;
};

/// An answer of `status` with its small error page.
HttpReply error_reply(int status);

/// The status line and the header fields, ending with the blank line. Adds Date and Server.
std::string format_response_head(const HttpResponse& response, std::time_t now);

/// A small HTML page for an error status: the status and its reason, nothing a client sent.
std::string error_page(int status);

/// An IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110 5.6.7).
std::string http_date(std::time_t when);
/// Parses the three date formats a server must accept (IMF-fixdate, RFC 850, asctime);
/// nullopt for anything else (an invalid If-Modified-Since is ignored, as RFC 9110 says).
std::optional<std::time_t> parse_http_date(std::string_view text);

}  // namespace sockserv
