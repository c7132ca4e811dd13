// Static files over HTTP (http-server --root DIR): which file a path names, and how to
// answer for it: Content-Type from the extension, Last-Modified/If-Modified-Since and
// ETag/If-None-Match (304), one byte range (206, or 416), gzip for text types (RFC 9110
// sections 8, 13 and 14; RFC 1952).
//
// Names are opened with ServedTree (beneath.hpp), as file-server's: a path decoded once
// with ".." in it, a NUL, or a symlink that leads out of the root is refused. Everything
// here may wait for the disk (opening, stat, reading a file to compress it), so the server
// calls serve_static through offloaded(): a helper thread under the epoll model.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "beneath.hpp"
#include "http_reply.hpp"
#include "http_request.hpp"

namespace sockserv {

/// Files larger than this are sent uncompressed even with --gzip: a compressed body is
/// made whole in memory, once per request, and this bounds that memory.
inline constexpr uint64_t kMaxGzipSource = 8 << 20;

struct StaticOptions {
  bool gzip = false;  // --gzip: compress text types for clients that accept gzip
};

/// Answers a GET or HEAD for `request.path` under `tree`: a file (200, 206), 301 to the
/// path with a slash for a directory, its index.html, 304, 403, 404, 416. `peer` names the
/// client in the warnings about names that try to escape.
HttpReply serve_static(const ServedTree& tree, const HttpRequest& request,
                       const StaticOptions& options, const std::string& peer);

/// The Content-Type for a file name, by its extension ("application/octet-stream" when
/// unknown); text types say charset=utf-8.
std::string_view mime_type(std::string_view name);
/// Whether a type is text that gzip shrinks (text/*, JSON, XML, SVG, JavaScript).
bool is_compressible(std::string_view type);
/// Whether an Accept-Encoding value accepts gzip (gzip, x-gzip or *, with a q above 0).
bool accepts_gzip(std::string_view accept_encoding);
/// A strong validator of a file's version: its modification time (ns) and size in hex,
/// "\"65a1f3c2e1d0-1a2b\"" (as nginx's, with nanoseconds).
std::string entity_tag(const struct stat& st);
/// Whether an If-None-Match list ("*", or tags, W/ allowed) matches `tag` (weak comparison).
bool none_match_hits(std::string_view if_none_match, std::string_view tag);

/// One "Range: bytes=..." as RFC 9110 14.2 reads it against a representation of `size` bytes.
struct RangeRequest {
  enum class Kind { ignore, satisfiable, unsatisfiable };
  Kind kind = Kind::ignore;  // ignore: malformed, not bytes, or several ranges: send it all
  uint64_t first = 0;        // satisfiable: the first and last byte, inclusive
  uint64_t last = 0;
};
RangeRequest parse_range(std::string_view value, uint64_t size);

/// `data` compressed in the gzip format (RFC 1952), as zlib's deflate writes it.
std::string gzip_bytes(std::string_view data);

}  // namespace sockserv
