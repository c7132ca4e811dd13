// ChunkedDecoder: the chunked transfer coding of HTTP/1.1 (RFC 9112 7.1), decoded as the bytes
// arrive, for a body whose length the server did not know when it began to send.
//
//   5;ext=1\r\nhello\r\n  0\r\n  Trailer: value\r\n  \r\n
//
// Bounded against a hostile server: a chunk size has at most 16 hex digits and may not
// overflow 64 bits, a size line (with its extensions) is at most kMaxChunkLine bytes, the
// trailer section at most kMaxTrailerBytes. Pure: no socket, so tests and the fuzz target feed
// it bytes directly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "http_response.hpp"

namespace sockserv {

inline constexpr size_t kMaxChunkLine = 4096;
inline constexpr size_t kMaxTrailerBytes = 64 * 1024;

class ChunkedDecoder {
 public:
  using BodySink = std::function<void(std::string_view)>;

  /// Decodes `input`, handing each piece of body to `body` as soon as it is known; returns the
  /// bytes of `input` used: all of them, unless the body ended (done()) before. Throws
  /// HttpResponseError on a malformed or oversized chunk line or trailer.
  size_t feed(std::string_view input, const BodySink& body);

  /// True once the last chunk and the trailer section have arrived.
  bool done() const { return state_ == State::done; }
  /// The trailer fields (after done()).
  const std::vector<HttpField>& trailers() const { return trailers_; }
  /// Body bytes decoded so far.
  uint64_t body_bytes() const { return body_bytes_; }

 private:
  enum class State { size_line, data, data_end, trailer, done };
  // Appends to line_ up to a LF; true when a whole line (without CRLF/LF) is in line_.
  bool take_line(std::string_view& input, size_t limit, const char* what);
  void end_of_size_line();
  void end_of_trailer_line();

  State state_ = State::size_line;
  uint64_t remaining_ = 0;  // bytes of the current chunk not yet seen
  uint64_t body_bytes_ = 0;
  std::string line_;
  size_t trailer_bytes_ = 0;
  std::vector<HttpField> trailers_;
};

}  // namespace sockserv
