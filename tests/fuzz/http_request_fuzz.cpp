// libFuzzer target for http-server's request head: finding its end (scan_http_head) and
// parsing it (parse_http_head), then what the server reads from an accepted request (Range,
// Accept-Encoding, If-None-Match, dates). Whatever the bytes: no crash; a complete head is
// never longer than the bytes given nor than kMaxHeadBytes, ends with its blank line, gets the
// same verdict from its own bytes alone, and is never complete a byte short; an undecided
// scan never holds more than kMaxHeadBytes; an accepted request is a GET or HEAD whose path
// begins with '/' and whose header values hold no CR, LF or NUL; a refusal has its status.
// Build and run: make fuzz-smoke (a fixed number of runs) or make fuzz (seeds: corpus/http_request)
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "http_reply.hpp"
#include "http_request.hpp"
#include "http_static.hpp"

namespace {

void check_request(const sockserv::HttpRequest& request) {
  if (request.method != "GET" && request.method != "HEAD") __builtin_trap();
  if (!request.raw_path.starts_with('/') || !request.path.starts_with('/')) __builtin_trap();
  for (const auto& [name, value] : request.headers) {
    if (name.empty() || value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos)
      __builtin_trap();
  }
  // What serve_static reads from the fields: bounded answers only.
  sockserv::RangeRequest range = sockserv::parse_range(request.header("range").value_or(""), 1000);
  if (range.kind == sockserv::RangeRequest::Kind::satisfiable &&
      (range.first > range.last || range.last >= 1000))
    __builtin_trap();
  (void)sockserv::accepts_gzip(request.header("accept-encoding").value_or(""));
  (void)sockserv::none_match_hits(request.header("if-none-match").value_or(""), "\"1-2\"");
  (void)sockserv::parse_http_date(request.header("if-modified-since").value_or(""));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  bytes.remove_prefix(sockserv::skip_leading_empty_lines(bytes));
  sockserv::HeadScan scan = sockserv::scan_http_head(bytes);
  if (scan.status == sockserv::HeadScan::Status::incomplete) {
    if (bytes.size() > sockserv::kMaxHeadBytes) __builtin_trap();
    return 0;
  }
  if (scan.status == sockserv::HeadScan::Status::too_long) {
    if (scan.error != 414 && scan.error != 431) __builtin_trap();
    return 0;
  }
  if (scan.length == 0 || scan.length > bytes.size() || scan.length > sockserv::kMaxHeadBytes ||
      bytes[scan.length - 1] != '\n')
    __builtin_trap();
  std::string_view head = bytes.substr(0, scan.length);
  sockserv::HeadScan alone = sockserv::scan_http_head(head);
  if (alone.status != sockserv::HeadScan::Status::complete || alone.length != scan.length)
    __builtin_trap();
  if (sockserv::scan_http_head(head.substr(0, head.size() - 1)).status ==
      sockserv::HeadScan::Status::complete)
    __builtin_trap();
  sockserv::HeadParse parse = sockserv::parse_http_head(head);
  if (parse.request) {
    if (parse.status != 0) __builtin_trap();
    check_request(*parse.request);
  } else if (parse.status != 400 && parse.status != 413 && parse.status != 501 &&
             parse.status != 505) {
    __builtin_trap();
  }
  return 0;
}
