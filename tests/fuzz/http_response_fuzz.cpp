// libFuzzer target for http-client's response parsers: the head (find_head_end,
// parse_response_head, body_framing) and the chunked decoder fed what follows the head.
// Whatever the bytes: no crash, no sanitizer report, and these hold: a head's end is within
// the bytes and the same when only the head is given, and a byte less has no end; the chunked
// decoder gives the same body and the same verdict whether fed at once or in small pieces,
// counts what it gave, and never uses more bytes than it got.
// Build and run: make fuzz-smoke (a fixed number of runs) or make fuzz (seeds:
// corpus/http_response)
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "http_chunked.hpp"
#include "http_response.hpp"

namespace {

using namespace sockserv;

std::optional<size_t> head_end(std::string_view bytes) {
  try {
    return find_head_end(bytes);
  } catch (const HttpResponseError&) {
    return std::nullopt;
  }
}

void check_head(std::string_view bytes, size_t end) {
  if (end == 0 || end > bytes.size()) __builtin_trap();
  if (head_end(bytes.substr(0, end)) != end) __builtin_trap();
  if (head_end(bytes.substr(0, end - 1))) __builtin_trap();
  try {
    ResponseHead head = parse_response_head(bytes.substr(0, end));
    if (head.status < 100 || head.status > 599 || head.fields.size() > kMaxResponseFields)
      __builtin_trap();
    body_framing(head, false);
  } catch (const HttpResponseError&) {
  }
}

struct Decoded {
  std::string body;
  bool done = false;
  bool failed = false;
  size_t used = 0;
};

Decoded decode(std::string_view bytes, size_t step) {
  Decoded out;
  ChunkedDecoder decoder;
  try {
    for (size_t i = 0; i < bytes.size() && !decoder.done(); i += step) {
      std::string_view piece = bytes.substr(i, step);
      size_t used = decoder.feed(piece, [&](std::string_view b) { out.body += b; });
      if (used > piece.size() || (used < piece.size() && !decoder.done())) __builtin_trap();
      out.used += used;
    }
  } catch (const HttpResponseError&) {
    out.failed = true;
  }
  out.done = decoder.done();
  if (decoder.body_bytes() != out.body.size()) __builtin_trap();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  std::optional<size_t> end = head_end(bytes);
  if (end) check_head(bytes, *end);
  std::string_view body = end ? bytes.substr(*end) : bytes;
  Decoded whole = decode(body, body.size() + 1);
  Decoded pieces = decode(body, size == 0 ? 1 : data[0] % 7 + 1);
  if (whole.failed != pieces.failed || whole.done != pieces.done) __builtin_trap();
  if (!whole.failed && (whole.body != pieces.body || whole.used != pieces.used)) __builtin_trap();
  return 0;
}
