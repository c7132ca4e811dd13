// Decoding the chunked transfer coding.
#include "http_chunked.hpp"

#include <algorithm>

namespace sockserv {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// "1a2b" or "1a2b;name=value" (extensions are allowed and ignored; RFC 9112 7.1.1).
uint64_t parse_chunk_size(std::string_view line) {
  uint64_t size = 0;
  size_t digits = 0;
  for (; digits < line.size() && hex_value(line[digits]) >= 0; ++digits) {
    // 16 hex digits fill 64 bits: a 17th would shift bits out, so the size could wrap.
    if (size > (UINT64_MAX >> 4)) throw HttpResponseError("chunk size overflows 64 bits");
    size = size << 4 | static_cast<uint64_t>(hex_value(line[digits]));
  }
  if (digits == 0) throw HttpResponseError("bad chunk size line");
  std::string_view rest = line.substr(digits);
  rest.remove_prefix(std::min(rest.find_first_not_of(" \t"), rest.size()));
  if (!rest.empty() && rest[0] != ';') throw HttpResponseError("bad chunk size line");
  bool control = std::any_of(rest.begin(), rest.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && c != '\t') || u == 0x7f;
  });
  if (control) throw HttpResponseError("control character in a chunk extension");
  return size;
}

}  // namespace

bool ChunkedDecoder::take_line(std::string_view& input, size_t limit, const char* what) {
  size_t lf = input.find('\n');
  size_t take = lf == std::string_view::npos ? input.size() : lf;
  if (line_.size() + take > limit)
    throw HttpResponseError(std::string(what) + " longer than " + std::to_string(limit) + " bytes");
  line_.append(input.substr(0, take));
  input.remove_prefix(lf == std::string_view::npos ? take : take + 1);
  if (lf == std::string_view::npos) return false;
  if (!line_.empty() && line_.back() == '\r') line_.pop_back();
  if (line_.find('\r') != std::string::npos) throw HttpResponseError("bare CR in chunked coding");
  return true;
}

void ChunkedDecoder::end_of_size_line() {
  remaining_ = parse_chunk_size(line_);
  state_ = remaining_ == 0 ? State::trailer : State::data;
}

void ChunkedDecoder::end_of_trailer_line() {
  if (line_.empty()) {
    state_ = State::done;
    return;
  }
  trailer_bytes_ += line_.size() + 2;
  if (trailer_bytes_ > kMaxTrailerBytes)
    throw HttpResponseError("chunked trailer larger than " +
                            std::to_string(kMaxTrailerBytes / 1024) + " KiB");
  if (trailers_.size() == kMaxResponseFields)
    throw HttpResponseError("more than " + std::to_string(kMaxResponseFields) + " trailer fields");
  trailers_.push_back(parse_field_line(line_));
}

size_t ChunkedDecoder::feed(std::string_view input, const BodySink& body) {
  size_t size = input.size();
  while (!input.empty() && state_ != State::done) {
    switch (state_) {
      case State::size_line:
        if (!take_line(input, kMaxChunkLine, "chunk size line")) break;
        end_of_size_line();
        line_.clear();
        break;
      case State::data: {
        size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, input.size()));
        body(input.substr(0, n));
        input.remove_prefix(n);
        remaining_ -= n;
        body_bytes_ += n;
        if (remaining_ == 0) state_ = State::data_end;
        break;
      }
      case State::data_end:
        // The CRLF after a chunk's data: an empty line, nothing else.
        if (line_.size() + std::min(input.find('\n'), input.size()) > 1 ||
            (input[0] != '\r' && input[0] != '\n'))
          throw HttpResponseError("chunk longer than its size line says");
        if (!take_line(input, 1, "chunk end")) break;
        state_ = State::size_line;
        break;
      case State::trailer:
        if (!take_line(input, kMaxChunkLine, "trailer line")) break;
        end_of_trailer_line();
        line_.clear();
        break;
      case State::done:
        break;
    }
  }
  return size - input.size();
}

}  // namespace sockserv
