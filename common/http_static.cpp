// Static files: lookup, validators, conditional requests, ranges and gzip.
#include "http_static.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <stdexcept>

#include "error.hpp"

namespace sockserv {
namespace {

struct MimeEntry {
  std::string_view extension;
  std::string_view type;
};

constexpr std::array kMimeTypes{
    MimeEntry{"html", "text/html; charset=utf-8"},
    MimeEntry{"htm", "text/html; charset=utf-8"},
    MimeEntry{"css", "text/css; charset=utf-8"},
    MimeEntry{"js", "text/javascript; charset=utf-8"},
    MimeEntry{"mjs", "text/javascript; charset=utf-8"},
    MimeEntry{"txt", "text/plain; charset=utf-8"},
    MimeEntry{"md", "text/markdown; charset=utf-8"},
    MimeEntry{"csv", "text/csv; charset=utf-8"},
    MimeEntry{"json", "application/json"},
    MimeEntry{"map", "application/json"},
    MimeEntry{"xml", "application/xml"},
    MimeEntry{"svg", "image/svg+xml"},
    MimeEntry{"png", "image/png"},
    MimeEntry{"jpg", "image/jpeg"},
    MimeEntry{"jpeg", "image/jpeg"},
    MimeEntry{"gif", "image/gif"},
    MimeEntry{"webp", "image/webp"},
    MimeEntry{"avif", "image/avif"},
    MimeEntry{"ico", "image/vnd.microsoft.icon"},
    MimeEntry{"pdf", "application/pdf"},
    MimeEntry{"wasm", "application/wasm"},
    MimeEntry{"woff", "font/woff"},
    MimeEntry{"woff2", "font/woff2"},
    MimeEntry{"ttf", "font/ttf"},
    MimeEntry{"otf", "font/otf"},
    MimeEntry{"mp3", "audio/mpeg"},
    MimeEntry{"ogg", "audio/ogg"},
    MimeEntry{"wav", "audio/wav"},
    MimeEntry{"mp4", "video/mp4"},
    MimeEntry{"webm", "video/webm"},
    MimeEntry{"zip", "application/zip"},
    MimeEntry{"gz", "application/gzip"},
    MimeEntry{"tar", "application/x-tar"},
};

std::string lower_ascii(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view text) {
  size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string_view::npos) return {};
  return text.substr(begin, text.find_last_not_of(" \t") - begin + 1);
}

// A decimal number of at most 19 digits (no sign, no spaces); nullopt otherwise.
std::optional<uint64_t> parse_decimal(std::string_view text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  return value;
}

// The status for a name ServedTree refused, by its message.
int refusal_status(const Refusal& refusal) {
  std::string_view why = refusal.what();
  if (why == "invalid name") return 400;  // NUL, empty
  if (why == "outside root" || why == "permission denied") return 403;
  return 404;  // not found, reserved, a name too long...
}

// The file itself, or the refusal's status. O_NONBLOCK: opening a FIFO must not hang.
UniqueFd open_served(const ServedTree& tree, const std::string& name, const std::string& peer,
                     struct stat& st, int& status) {
  try {
    UniqueFd file = tree.open(name, O_RDONLY | O_NONBLOCK, peer);
    if (::fstat(file.get(), &st) < 0) throw_errno("fstat " + name);
    return file;
  } catch (const Refusal& refusal) {
    status = refusal_status(refusal);
    return UniqueFd();
  }
}

// Reads a whole (small) file into memory, for compressing it.
std::string read_whole(int fd, uint64_t size) {
  std::string data(size, '\0');
  uint64_t done = 0;
  while (done < size) {
    ssize_t n = ::pread(fd, data.data() + done, size - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("pread");
    if (n == 0) break;  // the file shrank meanwhile: send what it has now
    done += static_cast<uint64_t>(n);
  }
  data.resize(done);
  return data;
}

// If-Range (RFC 9110 13.1.5): the range applies only to the version the client has.
bool if_range_holds(const HttpRequest& request, const std::string& tag, time_t mtime) {
  std::optional<std::string_view> value = request.header("if-range");
  if (!value) return true;
  if (value->starts_with('"')) return *value == tag;  // strong comparison
  std::optional<std::time_t> date = parse_http_date(*value);
  return date && *date == mtime;
}

// 304 (RFC 9110 13.2.2): If-None-Match decides when present, else If-Modified-Since.
bool not_modified(const HttpRequest& request, const std::string& tag, time_t mtime) {
  if (std::optional<std::string_view> none_match = request.header("if-none-match"))
    return none_match_hits(*none_match, tag);
  if (std::optional<std::string_view> since = request.header("if-modified-since")) {
    std::optional<std::time_t> date = parse_http_date(*since);
    return date && mtime <= *date;
  }
  return false;
}

// Finds what the path names: a regular file (returned, with `st` and `served_name`), or sets
// `reply` to the answer (a redirect, a refusal).
UniqueFd find_file(const ServedTree& tree, const HttpRequest& request, const std::string& peer,
                   struct stat& st, std::string& served_name, std::optional<HttpReply>& reply) {
  std::string name = request.path.substr(1);  // the path always starts with '/'
  if (name.empty()) name = ".";
  int status = 0;
  UniqueFd file = open_served(tree, name, peer, st, status);
  if (file && S_ISDIR(st.st_mode)) {
    if (!request.raw_path.ends_with('/')) {
      // A directory named without its slash: relative links in its index.html would resolve
      // against the parent, so send the client to the name with the slash (as nginx does).
      // Never to "//host" or "/\\host", which browsers read as another site.
      std::string location = request.raw_path + "/";
      bool elsewhere = location.starts_with("//") || location.find('\\') != std::string::npos;
      reply = error_reply(elsewhere ? 404 : 301);
      if (!elsewhere) reply->response.add("Location", location);
      return UniqueFd();
    }
    served_name = (name == "." ? "" : name) + "index.html";  // the path ends with '/'
    file = open_served(tree, served_name, peer, st, status);
  } else {
    served_name = name;
  }
  if (file && !S_ISREG(st.st_mode)) status = 403;  // a device, a FIFO, a socket
  if (status != 0) {
    reply = error_reply(status);
    return UniqueFd();
  }
  return file;
}

}  // namespace

std::string_view mime_type(std::string_view name) {
  size_t slash = name.rfind('/');
  std::string_view base = slash == std::string_view::npos ? name : name.substr(slash + 1);
  size_t dot = base.rfind('.');
  if (dot != std::string_view::npos && dot + 1 < base.size()) {
    std::string extension = lower_ascii(base.substr(dot + 1));
    for (const MimeEntry& entry : kMimeTypes) {
      if (entry.extension == extension) return entry.type;
    }
  }
  return "application/octet-stream";
}

bool is_compressible(std::string_view type) {
  return type.starts_with("text/") || type.starts_with("application/json") ||
         type.starts_with("application/xml") || type.starts_with("image/svg+xml");
}

bool accepts_gzip(std::string_view accept_encoding) {
  bool gzip = false, any = false;
  bool gzip_named = false;
  for (const std::string& item : header_tokens(accept_encoding)) {
    std::string_view coding = trim(std::string_view(item).substr(0, item.find(';')));
    double q = 1.0;
    size_t q_at = item.find("q=");
    if (q_at != std::string::npos) q = std::strtod(item.c_str() + q_at + 2, nullptr);
    if (coding == "gzip" || coding == "x-gzip") {
      gzip_named = true;
      gzip = q > 0;
    } else if (coding == "*") {
      any = q > 0;
    }
  }
  return gzip_named ? gzip : any;
}

std::string entity_tag(const struct stat& st) {
  char text[64];
  uint64_t mtime_ns = static_cast<uint64_t>(st.st_mtim.tv_sec) * 1'000'000'000u +
                      static_cast<uint64_t>(st.st_mtim.tv_nsec);
  std::snprintf(text, sizeof text, "\"%" PRIx64 "-%" PRIx64 "\"", mtime_ns,
                static_cast<uint64_t>(st.st_size));
  return text;
}

bool none_match_hits(std::string_view if_none_match, std::string_view tag) {
  auto opaque = [](std::string_view t) {
    t = trim(t);
    if (t.starts_with("W/")) t.remove_prefix(2);
    return t;
  };
  size_t start = 0;
  while (start <= if_none_match.size()) {
    size_t comma = if_none_match.find(',', start);
    if (comma == std::string_view::npos) comma = if_none_match.size();
    std::string_view item = trim(if_none_match.substr(start, comma - start));
    if (item == "*" || (!item.empty() && opaque(item) == opaque(tag))) return true;
    start = comma + 1;
  }
  return false;
}

RangeRequest parse_range(std::string_view value, uint64_t size) {
  RangeRequest range;
  value = trim(value);
  constexpr std::string_view kUnit = "bytes=";
  if (value.size() < kUnit.size() || lower_ascii(value.substr(0, kUnit.size())) != kUnit)
    return range;
  std::string_view spec = trim(value.substr(kUnit.size()));
  if (spec.find(',') != std::string_view::npos) return range;  // several ranges: send it all
  size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return range;
  std::string_view first_text = trim(spec.substr(0, dash)), last_text = trim(spec.substr(dash + 1));
  if (first_text.empty()) {
    // "-N": the last N bytes.
    std::optional<uint64_t> suffix = parse_decimal(last_text);
    if (!suffix) return range;
    if (*suffix == 0 || size == 0) {
      range.kind = RangeRequest::Kind::unsatisfiable;
      return range;
    }
    range.kind = RangeRequest::Kind::satisfiable;
    range.first = size - std::min(*suffix, size);
    range.last = size - 1;
    return range;
  }
  std::optional<uint64_t> first = parse_decimal(first_text);
  std::optional<uint64_t> last =
      last_text.empty() ? std::optional<uint64_t>(UINT64_MAX) : parse_decimal(last_text);
  if (!first || !last || *last < *first) return range;  // malformed: ignored, as RFC 9110 allows
  if (*first >= size) {
    range.kind = RangeRequest::Kind::unsatisfiable;
    return range;
  }
  range.kind = RangeRequest::Kind::satisfiable;
  range.first = *first;
  range.last = std::min(*last, size - 1);
  return range;
}

std::string gzip_bytes(std::string_view data) {
  z_stream stream{};
  // windowBits 15 + 16: zlib writes the gzip header and trailer (RFC 1952), not zlib's own.
  if (deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK)
    throw std::runtime_error("deflateInit2 failed");
  std::string out(deflateBound(&stream, data.size()), '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  int result = deflate(&stream, Z_FINISH);  // the bound guarantees one call is enough
  out.resize(stream.total_out);
  deflateEnd(&stream);
  if (result != Z_STREAM_END) throw std::runtime_error("deflate did not finish");
  return out;
}

HttpReply serve_static(const ServedTree& tree, const HttpRequest& request,
                       const StaticOptions& options, const std::string& peer) {
  struct stat st {};
  std::string served_name;
  std::optional<HttpReply> refused;
  UniqueFd file = find_file(tree, request, peer, st, served_name, refused);
  if (refused) return std::move(*refused);

  uint64_t size = static_cast<uint64_t>(st.st_size);
  std::string type(mime_type(served_name));
  bool compressible = options.gzip && is_compressible(type);
  std::optional<std::string_view> range_value =
      request.is_head() ? std::nullopt : request.header("range");
  bool gzip = compressible && !range_value && size <= kMaxGzipSource &&
              accepts_gzip(request.header("accept-encoding").value_or(""));
  std::string tag = entity_tag(st);
  // Each encoding is a representation of its own, with a validator of its own.
  if (gzip) tag.insert(tag.size() - 1, "-gzip");

  HttpReply reply;
  HttpResponse& response = reply.response;
  response.add("Last-Modified", http_date(st.st_mtim.tv_sec));
  response.add("ETag", tag);
  if (compressible) response.add("Vary", "Accept-Encoding");
  if (not_modified(request, tag, st.st_mtim.tv_sec)) {
    response.status = 304;  // no body, no Content-Type or Content-Length
    return reply;
  }
  response.content_type = type;
  response.add("Accept-Ranges", "bytes");
  RangeRequest range;
  if (range_value && if_range_holds(request, tag, st.st_mtim.tv_sec))
    range = parse_range(*range_value, size);
  if (range.kind == RangeRequest::Kind::unsatisfiable) {
    HttpReply unsatisfiable = error_reply(416);
    unsatisfiable.response.add("Content-Range", "bytes */" + std::to_string(size));
    return unsatisfiable;
  }
  if (gzip) {
    reply.body = gzip_bytes(read_whole(file.get(), size));
    response.add("Content-Encoding", "gzip");
    response.content_length = reply.body.size();
    return reply;
  }
  reply.offset = 0;
  reply.count = size;
  if (range.kind == RangeRequest::Kind::satisfiable) {
    response.status = 206;
    reply.offset = range.first;
    reply.count = range.last - range.first + 1;
    response.add("Content-Range", "bytes " + std::to_string(range.first) + "-" +
                                      std::to_string(range.last) + "/" + std::to_string(size));
  }
  response.content_length = reply.count;
  // Into the page cache now, off the event loop, so that sendfile copies from memory.
  if (!request.is_head()) ::readahead(file.get(), static_cast<off_t>(reply.offset), reply.count);
  reply.file = std::move(file);
  return reply;
}

}  // namespace sockserv
