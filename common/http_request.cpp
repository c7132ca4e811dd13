// The HTTP/1.x request head: its end, its limits, and a strict parse (RFC 9112, RFC 9110).
#include "http_request.hpp"

#include <algorithm>
#include <cctype>
#include <span>

namespace sockserv {
namespace {

constexpr std::string_view kHttpPrefix = "HTTP/";

// tchar of RFC 9110 5.6.2: what a method and a header name are made of.
bool is_tchar(unsigned char c) {
  return std::isalnum(c) != 0 ||
         std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

bool is_token(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return is_tchar(static_cast<unsigned char>(c));
  });
}

// A field value may hold visible characters, spaces, tabs and (obsolete) 8-bit text: never a
// control character, so no CR, LF or NUL can reach a log line or a response from here.
bool is_field_value(std::string_view value) {
  return std::all_of(value.begin(), value.end(), [](char ch) {
    auto c = static_cast<unsigned char>(ch);
    return c == '\t' || (c >= 0x20 && c != 0x7f);
  });
}

// A request target: visible ASCII only (no spaces, no controls, no 8-bit bytes, no '#').
bool is_target_text(std::string_view target) {
  return std::all_of(target.begin(), target.end(), [](char ch) {
    auto c = static_cast<unsigned char>(ch);
    return c > 0x20 && c < 0x7f && c != '#';
  });
}

// A Host value: a name, an IPv4 address or an [IPv6] literal, and an optional port. No '/',
// '@', space or control: nothing that could change what a redirect built from it points to.
bool is_host_value(std::string_view host) {
  return std::all_of(host.begin(), host.end(), [](char ch) {
    auto c = static_cast<unsigned char>(ch);
    return std::isalnum(c) != 0 ||
           std::string_view("-._~%!$&'()*+,;=:[]").find(ch) != std::string_view::npos;
  });
}

std::string_view trim(std::string_view text) {
  size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string_view::npos) return {};
  size_t end = text.find_last_not_of(" \t");
  return text.substr(begin, end - begin + 1);
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The lines of the head, without their CRLF or LF; the blank line ends the list.
std::vector<std::string_view> head_lines(std::string_view head) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start < head.size()) {
    size_t newline = head.find('\n', start);
    if (newline == std::string_view::npos) break;
    std::string_view line = head.substr(start, newline - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;
    lines.push_back(line);
    start = newline + 1;
  }
  return lines;
}

HeadParse refuse(HeadParse parse, int status, std::string problem) {
  parse.request.reset();
  parse.status = status;
  parse.problem = std::move(problem);
  return parse;
}

// "HTTP/1.1" -> 1; nullopt (400) when malformed; -1 (505) for a well-formed other major.
std::optional<int> parse_version(std::string_view version) {
  if (!version.starts_with(kHttpPrefix)) return std::nullopt;
  version.remove_prefix(kHttpPrefix.size());
  if (version.size() != 3 || !std::isdigit(static_cast<unsigned char>(version[0])) ||
      version[1] != '.' || !std::isdigit(static_cast<unsigned char>(version[2])))
    return std::nullopt;
  if (version[0] != '1') return -1;
  return version[2] - '0';
}

// Splits the target into its path (raw) and, for the absolute form, the authority; the
// query is dropped (a file server has no use for it). False when it is neither form.
bool split_target(std::string_view target, std::string& raw_path, std::string& authority) {
  if (target.starts_with('/')) {
    raw_path = target.substr(0, target.find('?'));
    return true;
  }
  // The absolute form, which a server must accept (RFC 9112 3.2.2): http://host[:port]/path.
  constexpr std::string_view kScheme = "http://";
  if (target.size() <= kScheme.size() || lower(target.substr(0, kScheme.size())) != kScheme)
    return false;
  std::string_view rest = target.substr(kScheme.size());
  size_t path_start = rest.find_first_of("/?");
  authority = rest.substr(0, path_start);
  if (authority.empty() || authority.find('@') != std::string::npos) return false;
  std::string_view path = path_start == std::string_view::npos ? "" : rest.substr(path_start);
  path = path.substr(0, path.find('?'));
  raw_path = path.empty() ? "/" : std::string(path);
  return true;
}

// The request line: method, target and version; fills `request`, or refuses.
HeadParse parse_request_line(std::string_view line) {
  HeadParse parse;
  size_t first = line.find(' ');
  size_t second = first == std::string_view::npos ? first : line.find(' ', first + 1);
  if (second == std::string_view::npos || line.find(' ', second + 1) != std::string_view::npos)
    return refuse(parse, 400, "request line is not METHOD TARGET VERSION");
  std::string_view method = line.substr(0, first);
  std::string_view target = line.substr(first + 1, second - first - 1);
  std::string_view version = line.substr(second + 1);
  if (!is_token(method)) return refuse(parse, 400, "malformed method");
  if (target.empty() || !is_target_text(target))
    return refuse(parse, 400, "malformed request target");
  parse.request_line = std::string(line);
  std::optional<int> minor = parse_version(version);
  if (!minor) return refuse(parse, 400, "malformed HTTP version");
  if (*minor < 0) return refuse(parse, 505, "HTTP version other than 1.x");
  HttpRequest request;
  request.method = std::string(method);
  request.target = std::string(target);
  request.minor_version = std::min(*minor, 1);
  parse.request = std::move(request);
  return parse;
}

// The header fields; false (and `problem`) on the first malformed one.
bool parse_fields(std::span<const std::string_view> lines, HttpRequest& request,
                  std::string& problem) {
  for (std::string_view line : lines) {
    // A line starting with a space continues the previous one (obs-fold): refused, as RFC
    // 9112 5.2 allows, since two parsers reading it differently is how requests are smuggled.
    if (line.front() == ' ' || line.front() == '\t') {
      problem = "obsolete line folding";
      return false;
    }
    size_t colon = line.find(':');
    // No space before the colon (RFC 9112 5.1): "Host : x" is refused, not guessed at.
    if (colon == std::string_view::npos || !is_token(line.substr(0, colon))) {
      problem = "malformed header field";
      return false;
    }
    std::string_view value = trim(line.substr(colon + 1));
    if (!is_field_value(value)) {
      problem = "control character in a header value";
      return false;
    }
    request.headers.emplace_back(lower(line.substr(0, colon)), std::string(value));
  }
  return true;
}

size_t count_headers(const HttpRequest& request, std::string_view name) {
  return static_cast<size_t>(std::count_if(request.headers.begin(), request.headers.end(),
                                           [&](const auto& h) { return h.first == name; }));
}

// Host (RFC 9112 3.2): exactly one in HTTP/1.1; the absolute form's authority wins over it.
bool check_host(const HttpRequest& request, const std::string& authority, std::string& problem) {
  size_t hosts = count_headers(request, "host");
  if (hosts > 1) {
    problem = "more than one Host";
    return false;
  }
  if (hosts == 0 && request.minor_version >= 1) {
    problem = "HTTP/1.1 request without Host";
    return false;
  }
  std::string_view host = hosts == 1 ? *request.header("host") : std::string_view(authority);
  if (!is_host_value(host) || !is_host_value(authority)) {
    problem = "malformed Host";
    return false;
  }
  return true;
}

// A body is framed by Content-Length or Transfer-Encoding. GET and HEAD carry none here:
// 413 for one announced, 400 for framing that could be read two ways (request smuggling).
int check_body(const HttpRequest& request, std::string& problem) {
  size_t lengths = count_headers(request, "content-length");
  bool chunked = count_headers(request, "transfer-encoding") > 0;
  if (chunked && (lengths > 0 || request.minor_version == 0)) {
    problem = "Transfer-Encoding with Content-Length or in HTTP/1.0";
    return 400;
  }
  if (chunked) {
    problem = "a body on " + request.method;
    return 413;
  }
  std::optional<std::string_view> length;
  for (const auto& [name, value] : request.headers) {
    if (name != "content-length") continue;
    if (value.empty() || value.size() > 18 ||
        !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        (length && *length != value)) {
      problem = "malformed or conflicting Content-Length";
      return 400;
    }
    length = value;
  }
  if (length && length->find_first_not_of('0') != std::string_view::npos) {
    problem = "a body on " + request.method;
    return 413;
  }
  return 0;
}

}  // namespace

size_t skip_leading_empty_lines(std::string_view bytes) {
  size_t skipped = 0;
  for (;;) {
    if (bytes.substr(skipped).starts_with("\r\n")) {
      skipped += 2;
    } else if (bytes.substr(skipped).starts_with("\n")) {
      skipped += 1;
    } else {
      return skipped;
    }
  }
}

HeadScan scan_http_head(std::string_view bytes) {
  size_t line_end = bytes.find('\n');
  if (line_end == std::string_view::npos) {
    // The request line may still end with its CR: one byte of grace before 414.
    if (bytes.size() > kMaxRequestLine + 1) return {HeadScan::Status::too_long, 0, 414};
    return {};
  }
  size_t line_length = line_end - (line_end > 0 && bytes[line_end - 1] == '\r' ? 1 : 0);
  if (line_length > kMaxRequestLine) return {HeadScan::Status::too_long, 0, 414};
  size_t fields_start = line_end + 1;
  size_t start = fields_start;
  size_t fields = 0;
  for (;;) {
    size_t newline = bytes.find('\n', start);
    if (newline == std::string_view::npos) {
      // The field section (blank line aside) cannot end within its limit any more.
      if (bytes.size() - fields_start > kMaxHeaderBytes + 2)
        return {HeadScan::Status::too_long, 0, 431};
      return {};
    }
    size_t length = newline - start;
    if (length == 0 || (length == 1 && bytes[start] == '\r'))
      return {HeadScan::Status::complete, newline + 1, 0};
    if (newline + 1 - fields_start > kMaxHeaderBytes || ++fields > kMaxHeaderFields)
      return {HeadScan::Status::too_long, 0, 431};
    start = newline + 1;
  }
}

std::optional<std::string_view> HttpRequest::header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return std::string_view(value);
  }
  return std::nullopt;
}

std::vector<std::string> header_tokens(std::string_view value) {
  std::vector<std::string> tokens;
  size_t start = 0;
  while (start <= value.size()) {
    size_t comma = value.find(',', start);
    if (comma == std::string_view::npos) comma = value.size();
    std::string_view token = trim(value.substr(start, comma - start));
    if (!token.empty()) tokens.push_back(lower(token));
    start = comma + 1;
  }
  return tokens;
}

bool HttpRequest::keep_alive() const {
  bool close = false, keep = false;
  for (const auto& [name, value] : headers) {
    if (name != "connection") continue;
    for (const std::string& token : header_tokens(value)) {
      close = close || token == "close";
      keep = keep || token == "keep-alive";
    }
  }
  if (close) return false;
  return minor_version >= 1 || keep;
}

std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    int high = hex(text[i + 1]), low = hex(text[i + 2]);
    if (high < 0 || low < 0) return std::nullopt;
    out += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return out;
}

HeadParse parse_http_head(std::string_view head) {
  std::vector<std::string_view> lines = head_lines(head);
  if (lines.empty()) return refuse({}, 400, "empty request");
  if (lines.front().find('\r') != std::string_view::npos)
    return refuse({}, 400, "bare CR in the request line");
  HeadParse parse = parse_request_line(lines.front());
  if (!parse.request) return parse;
  HttpRequest& request = *parse.request;
  std::string problem;
  if (!parse_fields(std::span(lines).subspan(1), request, problem))
    return refuse(std::move(parse), 400, problem);
  std::string authority;
  if (!split_target(request.target, request.raw_path, authority))
    return refuse(std::move(parse), 400, "request target is neither /path nor http://host/path");
  if (!check_host(request, authority, problem)) return refuse(std::move(parse), 400, problem);
  std::optional<std::string> path = percent_decode(request.raw_path);
  if (!path) return refuse(std::move(parse), 400, "bad percent-encoding in the path");
  request.path = std::move(*path);
  if (request.method != "GET" && request.method != "HEAD")
    return refuse(std::move(parse), 501, "method not implemented");
  if (int status = check_body(request, problem)) return refuse(std::move(parse), status, problem);
  return parse;
}

}  // namespace sockserv
