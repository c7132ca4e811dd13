// Streaming compression of framed bodies: zstd (libzstd) and gzip (zlib), behind one
// interface, so that a body of any size goes through a fixed amount of memory.
//
// A Compressor turns bytes into one compressed stream (a zstd frame, a gzip member, RFC
// 1952) piece by piece; a Decompressor does the reverse and refuses to produce more than
// its limit: a few kilobytes of "decompression bomb" must not become gigabytes here.
// docs/protocols.md ("Compression") says how the file and cmd services use them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include "error.hpp"

namespace sockserv {

/// How a body's bytes are encoded on the wire; identity: as they are.
enum class Encoding { identity, zstd, gzip };

/// "identity", "zstd", "gzip": the names in frame headers.
const char* to_string(Encoding encoding);
/// The encoding called `name`, nullopt for a name this build does not know.
std::optional<Encoding> encoding_named(std::string_view name);

/// Compressed data that is corrupt, truncated, followed by stray bytes, or that expands past
/// the limit: the peer's fault, so it ends that connection only.
struct CompressionError : ProtocolError {
  using ProtocolError::ProtocolError;
};

/// Receives the output of a (de)compressor, one piece (at most 64 KiB) at a time.
using ByteConsumer = std::function<void(std::span<const std::byte>)>;

class Compressor {
 public:
  virtual ~Compressor() = default;
  /// Compresses `input` into the current stream, handing output to `out` as it comes. With
  /// `finish`, the stream ends after `input` (all its output is handed out) and the next
  /// call begins a new, independent stream.
  virtual void compress(std::span<const std::byte> input, bool finish, const ByteConsumer& out) = 0;
};

class Decompressor {
 public:
  virtual ~Decompressor() = default;
  /// Decompresses the next bytes of the stream, handing output to `out` as it comes. Throws
  /// CompressionError for corrupt data, for bytes after the end of the stream, and before the
  /// output would pass the limit (nothing past the limit is handed out).
  virtual void decompress(std::span<const std::byte> input, const ByteConsumer& out) = 0;
  /// True once the stream's end has been decoded (a stream that stops before is truncated).
  virtual bool finished() const = 0;
  /// Bytes handed out since the stream began.
  virtual uint64_t produced() const = 0;
  /// Starts a new stream that may decompress to at most `max_output` bytes.
  virtual void reset(uint64_t max_output) = 0;
};

/// A compressor for `encoding` (zstd at level 3, gzip at zlib's level 6: each tool's default).
/// Throws std::invalid_argument for identity.
std::unique_ptr<Compressor> make_compressor(Encoding encoding);

/// A decompressor for `encoding` whose stream may produce at most `max_output` bytes. A zstd
/// frame may ask for a window of at most 2 MiB (what zstd's default level 3 uses), so a peer
/// cannot make us allocate more than that either. Throws std::invalid_argument for identity.
std::unique_ptr<Decompressor> make_decompressor(Encoding encoding, uint64_t max_output);

}  // namespace sockserv
