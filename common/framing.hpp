// Framing: how the file and cmd services cut a byte stream into messages (seed 004's fix
// for "sticky packets", done right).
//
// A frame is a 4-byte header length in network byte order (big-endian, unsigned), that many
// bytes of UTF-8 JSON (an object), then `size` bytes of body as the header says (0 when
// absent). Every length is checked against the caller's limits before anything is
// allocated, and each way a frame can be broken has its own FrameError kind.
//
// One implementation serves servers and clients: it reads from a ByteSource and writes to a
// ByteSink; ConnectionStream adapts a server's Connection, FdStream a client's socket.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>

#include "connection.hpp"
#include "error.hpp"
#include "io.hpp"

namespace sockserv {

using Json = nlohmann::json;

/// Limits given by whoever reads frames.
struct FrameLimits {
  size_t max_header = 64 * 1024;  // bytes of JSON header
  uint64_t max_body = 0;          // bytes of body
  int max_depth = 32;             // nesting of arrays and objects in the header
};

/// The ways a frame can be broken; each is a distinct, named protocol error.
enum class FrameErrorKind {
  truncated,
  header_too_long,
  invalid_json,
  not_an_object,
  too_deep,
  bad_size,
  body_too_large
};

/// Name of a kind, as it appears in messages: "truncated frame", "invalid JSON"...
const char* to_string(FrameErrorKind kind);

struct FrameError : ProtocolError {
  FrameError(FrameErrorKind kind, const std::string& detail);
  FrameErrorKind kind;
};

/// Where frames are read from: at least one byte per call, 0 at end of stream.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual size_t read_some(std::span<std::byte> buffer) = 0;
  /// A message ("frame header", "frame body") has begun / ended: a server's connection
  /// bounds the time between by its message timeout (Connection::begin_message).
  virtual void begin_message(const char* what) { (void)what; }
  virtual void end_message() {}
};

/// Where frames are written to.
class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual void write_all(std::span<const std::byte> data) = 0;
  /// Sends `count` bytes of `file_fd` from `offset` (sendfile(2) where the sink allows it).
  virtual void send_file(int file_fd, uint64_t offset, uint64_t count) = 0;
  /// Sends what the peer takes right now, without waiting (last words to a client that
  /// may not be reading); where the sink cannot do that, write_all.
  virtual void write_without_waiting(std::span<const std::byte> data) { write_all(data); }
};

/// A server's connection as a source and sink (its waits and idle timeout apply).
class ConnectionStream : public ByteSource, public ByteSink {
 public:
  explicit ConnectionStream(Connection& connection) : connection_(connection) {}
  size_t read_some(std::span<std::byte> buffer) override { return connection_.read_some(buffer); }
  void begin_message(const char* what) override { connection_.begin_message(what); }
  void end_message() override { connection_.end_message(); }
  void write_all(std::span<const std::byte> data) override { connection_.write_all(data); }
  void write_without_waiting(std::span<const std::byte> data) override {
    connection_.write_some(data);
  }
  void send_file(int file_fd, uint64_t offset, uint64_t count) override {
    connection_.send_file(file_fd, offset, count);
  }

 private:
  Connection& connection_;
};

/// A client's socket (or any descriptor) as a source and sink; each call waits at most
/// `timeout` (0: forever) for progress.
class FdStream : public ByteSource, public ByteSink {
 public:
  FdStream(int fd, Millis timeout) : fd_(fd), timeout_(timeout) {}
  size_t read_some(std::span<std::byte> buffer) override;
  void write_all(std::span<const std::byte> data) override;
  void send_file(int file_fd, uint64_t offset, uint64_t count) override;

 private:
  int fd_;
  Millis timeout_;
};

/// Bytes already in memory as a source (tests, the fuzz target). Hands out at most
/// `step` bytes per call, so that short reads are exercised too.
class MemorySource : public ByteSource {
 public:
  explicit MemorySource(std::span<const std::byte> data, size_t step = SIZE_MAX)
      : data_(data), step_(step) {}
  size_t read_some(std::span<std::byte> buffer) override;

 private:
  std::span<const std::byte> data_;
  size_t step_;
};

/// A frame's header and the size of the body that follows it (not yet read).
struct FrameHeader {
  Json header;
  uint64_t body_size = 0;
};

/// Reads one frame header. Returns nullopt at a clean end of stream (no byte of a new
/// frame); throws FrameError for a broken frame. From its first byte the header is one
/// message (ByteSource::begin_message); with a body, the message goes on into read_body.
std::optional<FrameHeader> read_frame_header(ByteSource& source, const FrameLimits& limits);

/// Reads a body of `size` bytes in chunks of at most 256 KiB, handing each to `consume`.
/// Throws FrameError(truncated) when the stream ends first. Each kMessagePiece bytes of the
/// body are one message: a large upload needs only steady progress, not a fast link.
void read_body(ByteSource& source, uint64_t size,
               const std::function<void(std::span<const std::byte>)>& consume);

/// Reads a whole body into a string; for small bodies whose size the limits have checked.
std::string read_body_string(ByteSource& source, uint64_t size);

/// A whole frame with its body in memory: read_frame_header + read_body_string.
struct Frame {
  Json header;
  std::string body;
};
std::optional<Frame> read_frame(ByteSource& source, const FrameLimits& limits);

/// Writes a frame: `header` gets "size" = body.size() (omitted when 0), then the body.
void write_frame(ByteSink& sink, Json header, std::span<const std::byte> body = {});
/// Writes only the header with "size" = `body_size`; the caller sends the body next.
void write_frame_header(ByteSink& sink, Json header, uint64_t body_size);

/// Runs `serve`; if it throws a ProtocolError, first tells the peer why in a last frame
/// {"status":"error","error":"protocol error: ..."} (best effort: the peer may be gone), then
/// lets the error go on to the server, which logs it and closes the connection. A message
/// deadline that passed gets {"status":"error","error":"message deadline: ..."}, sent only
/// as far as the socket takes it at once (a slow client must not hold us again).
void reporting_protocol_errors(ByteSink& sink, const std::function<void()>& serve);

}  // namespace sockserv
