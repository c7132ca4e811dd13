// Parsing the head of an HTTP/1.x response.
#include "http_response.hpp"

#include <algorithm>
#include <charconv>

namespace sockserv {
namespace {

// tchar of RFC 9110 5.6.2: the characters of a field name (and of a transfer coding).
bool is_token_char(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), is_token_char);
}

// A control character other than tab (NUL, CR, ESC, DEL...): never inside a field or reason.
bool has_control(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && c != '\t') || u == 0x7f;
  });
}

std::string_view trim_blanks(std::string_view text) {
  size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string_view::npos) return {};
  return text.substr(begin, text.find_last_not_of(" \t") - begin + 1);
}

// The lines of a head, each without its CRLF or LF; a CR anywhere else is refused.
std::vector<std::string_view> head_lines(std::string_view head) {
  std::vector<std::string_view> lines;
  while (!head.empty()) {
    size_t lf = head.find('\n');
    if (lf == std::string_view::npos) throw HttpResponseError("response head without line end");
    std::string_view line = head.substr(0, lf);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find('\r') != std::string_view::npos)
      throw HttpResponseError("bare CR in the response head");
    lines.push_back(line);
    head.remove_prefix(lf + 1);
  }
  return lines;
}

// "HTTP/1.1 404 Not Found"
void parse_status_line(std::string_view line, ResponseHead& head) {
  if (line.size() < 12 || line.substr(0, 7) != "HTTP/1." || line[8] != ' ')
    throw HttpResponseError("not an HTTP/1.x status line");
  if (line[7] < '0' || line[7] > '9') throw HttpResponseError("bad HTTP version");
  head.minor_version = line[7] - '0';
  std::string_view code = line.substr(9, 3);
  if (!std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; }))
    throw HttpResponseError("bad status code");
  head.status = (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
  if (head.status < 100 || head.status > 599) throw HttpResponseError("status code out of range");
  std::string_view rest = line.substr(12);
  // The space before the reason is required, but servers that send "HTTP/1.1 200" are many.
  if (!rest.empty() && rest[0] != ' ') throw HttpResponseError("bad status code");
  std::string_view reason = rest.empty() ? rest : rest.substr(1);
  if (has_control(reason)) throw HttpResponseError("control character in the reason phrase");
  head.reason = std::string(reason);
}

uint64_t parse_content_length(std::string_view text) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  bool digits = !text.empty() &&
                std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!digits || ec != std::errc() || end != text.data() + text.size())
    throw HttpResponseError("bad Content-Length '" + std::string(text) + "'");
  return value;
}

// Calls `each` with every element of the comma-separated lists in all fields called `name`.
template <typename Each>
void for_each_list_element(const ResponseHead& head, std::string_view name, Each each) {
  for (const HttpField& field : head.fields) {
    if (!equal_ignoring_case(field.name, name)) continue;
    std::string_view rest = field.value;
    for (;;) {
      size_t comma = rest.find(',');
      std::string_view element = trim_blanks(rest.substr(0, comma));
      if (!element.empty()) each(element);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
}

}  // namespace

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
           return lower(x) == lower(y);
         });
}

const std::string* ResponseHead::find(std::string_view name) const {
  for (const HttpField& field : fields)
    if (equal_ignoring_case(field.name, name)) return &field.value;
  return nullptr;
}

std::optional<size_t> find_head_end(std::string_view buffer, size_t from) {
  // The head ends at an empty line: a LF followed by LF or CRLF. Step back over the two bytes
  // that may begin such an ending across the previous search's edge.
  for (size_t lf = buffer.find('\n', from >= 2 ? from - 2 : 0); lf != std::string_view::npos;
       lf = buffer.find('\n', lf + 1)) {
    if (lf + 1 < buffer.size() && buffer[lf + 1] == '\n') return lf + 2;
    if (lf + 2 < buffer.size() && buffer[lf + 1] == '\r' && buffer[lf + 2] == '\n') return lf + 3;
  }
  if (buffer.size() >= kMaxResponseHead)
    throw HttpResponseError("response head larger than " + std::to_string(kMaxResponseHead / 1024) +
                            " KiB");
  return std::nullopt;
}

HttpField parse_field_line(std::string_view line) {
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) throw HttpResponseError("header line without ':'");
  std::string_view name = line.substr(0, colon);
  // No blank before the colon (RFC 9112 5.1): "Name :" has been used to smuggle fields.
  if (!is_token(name)) throw HttpResponseError("bad header name");
  std::string_view value = trim_blanks(line.substr(colon + 1));
  if (has_control(value)) throw HttpResponseError("control character in a header value");
  return {std::string(name), std::string(value)};
}

ResponseHead parse_response_head(std::string_view head) {
  if (head.size() > kMaxResponseHead)
    throw HttpResponseError("response head larger than " + std::to_string(kMaxResponseHead / 1024) +
                            " KiB");
  std::vector<std::string_view> lines = head_lines(head);
  if (lines.empty() || !lines.back().empty()) throw HttpResponseError("incomplete response head");
  lines.pop_back();
  if (lines.empty()) throw HttpResponseError("empty response head");
  ResponseHead parsed;
  parse_status_line(lines[0], parsed);
  for (size_t i = 1; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    if (line[0] == ' ' || line[0] == '\t') {
      // obs-fold: a user agent replaces it with a space (RFC 9112 5.2).
      if (parsed.fields.empty()) throw HttpResponseError("continuation line without a header");
      std::string_view more = trim_blanks(line);
      if (has_control(more)) throw HttpResponseError("control character in a header value");
      parsed.fields.back().value += " " + std::string(more);
      continue;
    }
    if (parsed.fields.size() == kMaxResponseFields)
      throw HttpResponseError("more than " + std::to_string(kMaxResponseFields) + " header fields");
    parsed.fields.push_back(parse_field_line(line));
  }
  return parsed;
}

BodyFraming body_framing(const ResponseHead& head, bool head_request) {
  if (head_request || head.status < 200 || head.status == 204 || head.status == 304) return {};
  if (head.find("Transfer-Encoding") != nullptr) {
    // Transfer-Encoding overrides Content-Length (RFC 9112 6.3). We ask for no coding but
    // chunked (no TE header), so any other is an error rather than bytes we cannot decode.
    size_t codings = 0;
    for_each_list_element(head, "Transfer-Encoding", [&](std::string_view coding) {
      if (!equal_ignoring_case(coding, "chunked"))
        throw HttpResponseError("unsupported transfer coding '" + std::string(coding) + "'");
      ++codings;
    });
    if (codings != 1) throw HttpResponseError("bad Transfer-Encoding");
    return {BodyFraming::Kind::chunked, 0};
  }
  std::optional<uint64_t> length;
  for_each_list_element(head, "Content-Length", [&](std::string_view text) {
    uint64_t value = parse_content_length(text);
    if (length && *length != value) throw HttpResponseError("conflicting Content-Length values");
    length = value;
  });
  if (head.find("Content-Length") != nullptr && !length)
    throw HttpResponseError("empty Content-Length");
  if (length) return {BodyFraming::Kind::length, *length};
  return {BodyFraming::Kind::until_close, 0};
}

}  // namespace sockserv
