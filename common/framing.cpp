// Frames: a 4-byte big-endian header length, a JSON header, a body of header.size bytes.
#include "framing.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <vector>

namespace sockserv {
namespace {

constexpr size_t kBodyChunk = 256 * 1024;

// Fills `buffer` (whose first `done` bytes are already there) or throws truncated; `started`
// says whether a partial frame is an error even when no byte of `buffer` arrived. Returns
// false only for a clean EOF before any byte.
bool read_exactly(ByteSource& source, std::span<std::byte> buffer, bool started, const char* what,
                  size_t done = 0) {
  while (done < buffer.size()) {
    size_t n = source.read_some(buffer.subspan(done));
    if (n == 0) {
      if (done == 0 && !started) return false;
      throw FrameError(FrameErrorKind::truncated, "stream ended after " + std::to_string(done) +
                                                      " of " + std::to_string(buffer.size()) +
                                                      " bytes of " + what);
    }
    done += n;
  }
  return true;
}

// "size" must be a non-negative integer that fits the body limit; absent means 0.
uint64_t body_size_of(const Json& header, const FrameLimits& limits) {
  auto it = header.find("size");
  if (it == header.end()) return 0;
  if (it->is_number_unsigned()) {
    uint64_t size = it->get<uint64_t>();
    if (size > limits.max_body) {
      throw FrameError(
          FrameErrorKind::body_too_large,
          "body of " + std::to_string(size) + " bytes, limit " + std::to_string(limits.max_body));
    }
    return size;
  }
  if (it->is_number_integer()) throw FrameError(FrameErrorKind::bad_size, "size is negative");
  throw FrameError(FrameErrorKind::bad_size, "size is not an integer: " + it->dump());
}

// Parses the header text, refusing it as soon as an array or object opens more than
// `max_depth` levels deep. nlohmann's parser itself keeps its own stack, but what a deep
// document meets later (dump, comparison, our handlers walking it) recurses once per level,
// and a connection may run on a small coroutine stack. The callback sees every event with
// its depth, so the limit costs no recursion of ours and stops at the first level too many.
Json parse_header(const std::string& text, int max_depth) {
  auto limit_depth = [max_depth](int depth, Json::parse_event_t event, Json&) {
    // `depth` counts the containers around this one: the outermost object opens at 0.
    bool opens =
        event == Json::parse_event_t::object_start || event == Json::parse_event_t::array_start;
    if (opens && depth >= max_depth) {
      throw FrameError(FrameErrorKind::too_deep,
                       "more than " + std::to_string(max_depth) + " levels of arrays and objects");
    }
    return true;  // keep every value: the callback is only a guard
  };
  Json header = Json::parse(text, limit_depth, /*allow_exceptions=*/false);
  if (header.is_discarded())
    throw FrameError(FrameErrorKind::invalid_json, std::to_string(text.size()) + "-byte header");
  return header;
}

// A frame assembled in memory, to be sent in one piece.
struct BufferSink : ByteSink {
  std::string bytes;
  void write_all(std::span<const std::byte> data) override {
    bytes.append(reinterpret_cast<const char*>(data.data()), data.size());
  }
  void send_file(int, uint64_t, uint64_t) override {
    throw std::logic_error("BufferSink: no files");
  }
};

}  // namespace

const char* to_string(FrameErrorKind kind) {
  switch (kind) {
    case FrameErrorKind::truncated:
      return "truncated frame";
    case FrameErrorKind::header_too_long:
      return "header length over the limit";
    case FrameErrorKind::invalid_json:
      return "invalid JSON header";
    case FrameErrorKind::not_an_object:
      return "header is not a JSON object";
    case FrameErrorKind::too_deep:
      return "header nested too deeply";
    case FrameErrorKind::bad_size:
      return "bad body size";
    case FrameErrorKind::body_too_large:
      return "body over the limit";
  }
  return "bad frame";
}

FrameError::FrameError(FrameErrorKind kind, const std::string& detail)
    : ProtocolError(std::string(to_string(kind)) + ": " + detail), kind(kind) {}

size_t FdStream::read_some(std::span<std::byte> buffer) {
  return sockserv::read_some(fd_, buffer, Deadline::after_or_never(timeout_), client_io());
}

void FdStream::write_all(std::span<const std::byte> data) {
  sockserv::write_all(fd_, data, Deadline::after_or_never(timeout_), client_io());
}

void FdStream::send_file(int file_fd, uint64_t offset, uint64_t count) {
  sockserv::send_file(fd_, file_fd, offset, count, Deadline::after_or_never(timeout_), client_io());
}

size_t MemorySource::read_some(std::span<std::byte> buffer) {
  size_t n = std::min({buffer.size(), data_.size(), step_});
  std::memcpy(buffer.data(), data_.data(), n);
  data_ = data_.subspan(n);
  return n;
}

std::optional<FrameHeader> read_frame_header(ByteSource& source, const FrameLimits& limits) {
  std::array<std::byte, 4> prefix;
  // The wait for the first byte is the idle time between messages; from that byte on, the
  // header is a message with a deadline.
  size_t first = source.read_some(prefix);
  if (first == 0) return std::nullopt;
  source.begin_message("frame header");
  read_exactly(source, prefix, true, "the length prefix", first);
  uint32_t network_order;
  std::memcpy(&network_order, prefix.data(), sizeof network_order);
  // ntohl: the sender wrote the length big-endian whatever its own byte order is.
  uint32_t length = ntohl(network_order);
  if (length > limits.max_header) {
    throw FrameError(FrameErrorKind::header_too_long,
                     std::to_string(length) + " bytes, limit " + std::to_string(limits.max_header));
  }
  // Allocated only now that the length is known to be within the limit.
  std::string text(length, '\0');
  read_exactly(source, std::as_writable_bytes(std::span(text)), true, "the header");
  FrameHeader frame;
  frame.header = parse_header(text, limits.max_depth);
  if (!frame.header.is_object())
    throw FrameError(FrameErrorKind::not_an_object, frame.header.dump().substr(0, 40));
  frame.body_size = body_size_of(frame.header, limits);
  if (frame.body_size == 0) source.end_message();  // else the body's pieces follow
  return frame;
}

void read_body(ByteSource& source, uint64_t size,
               const std::function<void(std::span<const std::byte>)>& consume) {
  std::vector<std::byte> chunk(static_cast<size_t>(std::min<uint64_t>(size, kBodyChunk)));
  uint64_t piece_left = 0;  // bytes of the current piece (message) still to come
  while (size > 0) {
    if (piece_left == 0) {
      source.begin_message("frame body");
      piece_left = kMessagePiece;
    }
    size_t want = static_cast<size_t>(std::min({size, piece_left, uint64_t{chunk.size()}}));
    size_t n = source.read_some(std::span(chunk).first(want));
    if (n == 0)
      throw FrameError(FrameErrorKind::truncated,
                       "stream ended with " + std::to_string(size) + " body bytes missing");
    consume(std::span(chunk).first(n));
    size -= n;
    piece_left -= n;
    if (size == 0) source.end_message();  // an empty body was never a message
  }
}

std::string read_body_string(ByteSource& source, uint64_t size) {
  if (size > std::numeric_limits<size_t>::max() / 2)
    throw FrameError(FrameErrorKind::body_too_large, "cannot hold it");
  std::string body;
  body.reserve(static_cast<size_t>(size));
  read_body(source, size, [&](std::span<const std::byte> chunk) {
    body.append(reinterpret_cast<const char*>(chunk.data()), chunk.size());
  });
  return body;
}

std::optional<Frame> read_frame(ByteSource& source, const FrameLimits& limits) {
  std::optional<FrameHeader> header = read_frame_header(source, limits);
  if (!header) return std::nullopt;
  std::string body = read_body_string(source, header->body_size);
  return Frame{std::move(header->header), std::move(body)};
}

void write_frame_header(ByteSink& sink, Json header, uint64_t body_size) {
  if (body_size > 0) {
    header["size"] = body_size;
  } else {
    header.erase("size");
  }
  // dump with replacement of invalid UTF-8, so a stray byte in a name cannot make it throw.
  std::string text = header.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (text.size() > std::numeric_limits<uint32_t>::max())
    throw std::length_error("frame header too long");
  uint32_t network_order = htonl(static_cast<uint32_t>(text.size()));
  std::string frame(sizeof network_order, '\0');
  std::memcpy(frame.data(), &network_order, sizeof network_order);
  frame += text;
  sink.write_all(as_bytes(frame));
}

void write_frame(ByteSink& sink, Json header, std::span<const std::byte> body) {
  write_frame_header(sink, std::move(header), body.size());
  if (!body.empty()) sink.write_all(body);
}

void reporting_protocol_errors(ByteSink& sink, const std::function<void()>& serve) {
  try {
    serve();
  } catch (const ProtocolError& e) {
    try {
      write_frame(sink,
                  {{"status", "error"}, {"error", std::string("protocol error: ") + e.what()}});
    } catch (const std::exception&) {
      // The peer hung up or stopped reading: the error is still logged by the server.
    }
    throw;
  } catch (const MessageTimeout& e) {
    try {
      BufferSink last_words;
      write_frame(last_words, {{"status", "error"}, {"error", e.what()}});
      sink.write_without_waiting(as_bytes(last_words.bytes));
    } catch (const std::exception&) {
      // Gone, or its buffer full: the log line is what counts.
    }
    throw;
  }
}

}  // namespace sockserv
