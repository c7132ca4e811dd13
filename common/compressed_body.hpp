// Compressed bodies of the framed services (file, cmd): the encoding a client offers and a
// server chooses, and a body sent as a run of chunk frames, each chunk compressed on its own
// or sent as it is (docs/protocols.md, "Compression").
//
// Chunks keep memory flat at both ends whatever the body's size (one chunk in, one out),
// let incompressible data go as it is, and bound what one compressed piece may expand to:
// a chunk's header names its original length, and decompressing stops there.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "compression.hpp"
#include "framing.hpp"

namespace sockserv {

/// Original bytes in one chunk (the last may be shorter); also the largest chunk a reader
/// accepts, compressed or not.
constexpr size_t kChunkSize = 256 * 1024;
/// Bodies under this size go plain even when compression was offered: a chunk frame's header
/// and a compressed stream's own header would eat what little they save.
constexpr uint64_t kMinCompressedBody = 1024;

/// The "encodings" a client offers: every encoding this build has, best first.
Json offered_encodings();

/// "zstd,gzip" as an "encodings" array; throws UsageError naming `option` for a name this
/// build does not know.
Json encodings_from_list(const std::string& list, const std::string& option);

/// The encoding to send (or, for an upload, to accept) a body of `body_size` bytes in: the
/// first of the request's "encodings" that this build has; identity when the request offers
/// none (an old client) or the body is under kMinCompressedBody. Throws ProtocolError when
/// "encodings" is not an array of strings.
Encoding choose_encoding(const Json& request, uint64_t body_size);

/// The encoding a reply announces in "encoding" (identity when it has none). Throws
/// ProtocolError for one the client did not offer (`offered` false: it offered none).
Encoding announced_encoding(const Json& reply, bool offered);

/// What a body cost on the wire.
struct BodyStats {
  uint64_t original = 0;  // bytes before compression
  uint64_t wire = 0;      // bytes of the chunks' bodies as sent (chunk headers not counted)
  size_t chunks = 0;
  size_t compressed_chunks = 0;  // the others went as they were
  /// "67108864 bytes as 201234 (zstd; 256 of 256 chunks compressed)".
  std::string summary(Encoding encoding) const;
};

/// Fills `buffer` with the body's bytes from `offset` (counted from the body's start).
using BodyReader = std::function<void(std::span<std::byte> buffer, uint64_t offset)>;
/// The bytes of the regular file `fd` from `start` on (pread: the file offset is untouched).
BodyReader file_reader(int fd, uint64_t start);
/// Bytes in memory; `data` must outlive the reader.
BodyReader memory_reader(std::string_view data);

/// Called before each chunk with what went so far: false stops the body there (the peer
/// has said something meanwhile, such as a refusal).
using KeepGoing = std::function<bool(const BodyStats&)>;

/// Sends `header` with "encoding" and "length" (the body's original size) added and no
/// "size", then a body of `length` bytes from `read` as chunk frames in `encoding`.
/// A chunk goes compressed only when that makes it at least 1/16 smaller; after a chunk
/// that does not shrink, the next 7 (1.75 MiB) go as they are without a trial, so data that
/// is already compressed costs one trial per 2 MiB. Reading and compressing run through
/// `io`'s offload: a helper thread under the epoll model, so the event loop serves on.
BodyStats send_compressed_body(ByteSink& sink, IoContext& io, Json header, Encoding encoding,
                               uint64_t length, const BodyReader& read,
                               const KeepGoing& keep_going = {});

/// The "length" a header that announces a compressed body gives. Throws ProtocolError when
/// it is missing, not an unsigned integer, or over `limit` (which bounds the decompressed
/// size as "size" bounds a plain body).
uint64_t announced_length(const Json& header, uint64_t limit);

/// Reads a body of `length` original bytes sent by send_compressed_body in `encoding`,
/// handing each chunk's original bytes to `consume` (at most kChunkSize at a time). Throws
/// CompressionError for a chunk that is corrupt, truncated, in another encoding, or that
/// decompresses to anything but the length its header names, or passes the body's end;
/// FrameError for a broken chunk frame.
BodyStats read_compressed_body(ByteSource& source, Encoding encoding, uint64_t length,
                               const ByteConsumer& consume);

}  // namespace sockserv
