// Parsing http:// and https:// URLs and resolving relative references.
#include "url.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <vector>

namespace sockserv {
namespace {

constexpr std::string_view kSchemeSeparator = "://";

bool is_scheme(std::string_view text) {
  return !text.empty() && std::isalpha(static_cast<unsigned char>(text[0])) != 0 &&
         std::all_of(text.begin(), text.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '+' || c == '-' ||
                  c == '.';
         });
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The characters a request-target keeps as they are (RFC 3986 2.2-2.3, plus '%' of escapes
// already made); everything else is percent-encoded.
bool keep_in_target(unsigned char c) {
  return std::isalnum(c) != 0 ||
         std::string_view("-._~!$&'()*+,;=:@/?%").find(static_cast<char>(c)) !=
             std::string_view::npos;
}

std::string encode_target(std::string_view target) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : target) {
    auto c = static_cast<unsigned char>(ch);
    if (keep_in_target(c)) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

uint16_t default_port(bool tls) {
  return tls ? 443 : 80;
}

uint16_t parse_url_port(std::string_view text, std::string_view url, bool tls) {
  // "http://host:/" means the default port (RFC 3986 3.2.3)
  if (text.empty()) return default_port(tls);
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value == 0 || value > 65535)
    throw UrlError("bad port in URL '" + std::string(url) + "': expected 1..65535");
  return static_cast<uint16_t>(value);
}

// Splits "HOST[:PORT]" or "[V6][:PORT]" and checks the host.
void parse_authority(std::string_view authority, std::string_view url, Url& out) {
  if (authority.find('@') != std::string_view::npos)
    throw UrlError("credentials in URL '" + std::string(url) +
                   "' are not supported: send them with -H 'Authorization: ...'");
  std::string_view port;
  if (!authority.empty() && authority[0] == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos)
      throw UrlError("bad URL '" + std::string(url) + "': missing ']'");
    out.host = std::string(authority.substr(1, close - 1));
    in6_addr address{};
    if (::inet_pton(AF_INET6, out.host.c_str(), &address) != 1)
      throw UrlError("bad IPv6 address '" + out.host + "' in URL '" + std::string(url) + "'");
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty() && rest[0] != ':')
      throw UrlError("bad URL '" + std::string(url) + "': expected ':PORT' after ']'");
    if (!rest.empty()) port = rest.substr(1);
  } else {
    size_t colon = authority.find(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
    bool name_chars = std::all_of(out.host.begin(), out.host.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.' || c == '_';
    });
    if (!name_chars)
      throw UrlError("bad host in URL '" + std::string(url) +
                     "' (IPv6 addresses go in brackets: http://[::1]:8080/)");
  }
  if (out.host.empty()) throw UrlError("bad URL '" + std::string(url) + "': no host");
  out.port = parse_url_port(port, url, out.tls);
}

std::string_view without_fragment(std::string_view text) {
  return text.substr(0, text.find('#'));
}

}  // namespace

std::string Url::authority() const {
  std::string name = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return port == default_port(tls) ? name : name + ":" + std::to_string(port);
}

std::string Url::text() const {
  return (tls ? "https://" : "http://") + authority() + target;
}

Url parse_url(std::string_view text) {
  std::string_view rest = without_fragment(text);
  size_t separator = rest.find(kSchemeSeparator);
  Url url;
  if (separator != std::string_view::npos && is_scheme(rest.substr(0, separator))) {
    std::string scheme = lower(rest.substr(0, separator));
    if (scheme != "http" && scheme != "https")
      throw UnsupportedScheme("unsupported scheme '" + scheme +
                              "://': only http:// and https:// are spoken");
    url.tls = scheme == "https";
    rest.remove_prefix(separator + kSchemeSeparator.size());
  }
  size_t path_start = std::min(rest.find('/'), rest.find('?'));
  parse_authority(rest.substr(0, path_start), text, url);
  std::string_view target = path_start == std::string_view::npos ? "" : rest.substr(path_start);
  std::string path(target.substr(0, target.find('?')));
  std::string_view query = target.substr(path.size());
  url.target = encode_target(remove_dot_segments(path.empty() ? "/" : path)) + encode_target(query);
  return url;
}

std::string remove_dot_segments(std::string_view path) {
  std::vector<std::string_view> kept;
  bool trailing_slash = false;  // "/a/b/.." is "/a/": a dot segment at the end names a directory
  std::string_view rest = path.substr(path.empty() ? 0 : 1);
  for (;;) {
    size_t slash = rest.find('/');
    std::string_view segment = rest.substr(0, slash);
    bool last = slash == std::string_view::npos;
    if (segment == "..") {
      if (!kept.empty()) kept.pop_back();
      trailing_slash = last;
    } else if (segment == ".") {
      trailing_slash = last;
    } else {
      kept.push_back(segment);
    }
    if (last) break;
    rest.remove_prefix(slash + 1);
  }
  std::string out;
  for (std::string_view segment : kept) {
    out += '/';
    out += segment;
  }
  if (out.empty() || trailing_slash) out += '/';
  return out;
}

Url resolve_reference(const Url& base, std::string_view reference) {
  std::string_view ref = without_fragment(reference);
  size_t colon = ref.find(':');
  size_t slash = ref.find('/');
  if (colon != std::string_view::npos && colon < slash && is_scheme(ref.substr(0, colon)))
    return parse_url(ref);       // absolute: "http://other/x"
  if (ref.substr(0, 2) == "//")  // network-path reference: the base's scheme
    return parse_url((base.tls ? "https:" : "http:") + std::string(ref));
  Url url = base;
  if (ref.empty()) return url;
  std::string_view base_path = std::string_view(base.target).substr(0, base.target.find('?'));
  if (ref[0] == '?') {
    url.target = std::string(base_path) + encode_target(ref);
    return url;
  }
  std::string_view ref_path = ref.substr(0, ref.find('?'));
  std::string_view query = ref.substr(ref_path.size());
  std::string merged = ref[0] == '/' ? std::string(ref_path)
                                     : std::string(base_path.substr(0, base_path.rfind('/') + 1)) +
                                           std::string(ref_path);
  url.target = encode_target(remove_dot_segments(merged)) + encode_target(query);
  return url;
}

}  // namespace sockserv
