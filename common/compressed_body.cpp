// Chunked, compressed bodies: negotiation, sending (compress or not, chunk by chunk) and
// receiving (every length checked before it is trusted).
#include "compressed_body.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

namespace sockserv {
namespace {

// After a chunk that did not shrink, this many go as they are before the next trial.
constexpr int kChunksWithoutTrial = 7;

// "length" of a compressed chunk: a positive integer no larger than a chunk or what is left.
uint64_t chunk_length(const Json& header, uint64_t left) {
  auto it = header.find("length");
  if (it == header.end() || !it->is_number_unsigned() || it->get<uint64_t>() == 0)
    throw CompressionError("compressed chunk without a positive \"length\"");
  uint64_t length = it->get<uint64_t>();
  if (length > kChunkSize)
    throw CompressionError("chunk of " + std::to_string(length) + " bytes, limit " +
                           std::to_string(kChunkSize));
  if (length > left)
    throw CompressionError("chunk of " + std::to_string(length) + " bytes passes the body's end (" +
                           std::to_string(left) + " bytes left)");
  return length;
}

// The encoding a chunk names (identity when it names none).
Encoding chunk_encoding(const Json& header, Encoding body_encoding) {
  auto it = header.find("encoding");
  if (it == header.end()) return Encoding::identity;
  std::optional<Encoding> named =
      it->is_string() ? encoding_named(it->get<std::string>()) : std::nullopt;
  if (named != body_encoding && named != Encoding::identity) {
    throw CompressionError("chunk encoded as " + it->dump() + " in a " + to_string(body_encoding) +
                           " body");
  }
  return *named;
}

void append(std::vector<std::byte>& to, std::span<const std::byte> piece) {
  to.insert(to.end(), piece.begin(), piece.end());
}

}  // namespace

Json offered_encodings() {
  return Json::array({"zstd", "gzip"});
}

Json encodings_from_list(const std::string& list, const std::string& option) {
  Json offer = Json::array();
  for (size_t start = 0; start <= list.size();) {
    size_t comma = std::min(list.find(',', start), list.size());
    std::string name = list.substr(start, comma - start);
    std::optional<Encoding> known = encoding_named(name);
    if (!known || *known == Encoding::identity)
      throw UsageError(option + ": unknown encoding '" + name + "' (zstd, gzip)");
    offer.push_back(name);
    start = comma + 1;
  }
  return offer;
}

Encoding choose_encoding(const Json& request, uint64_t body_size) {
  auto it = request.find("encodings");
  if (it == request.end()) return Encoding::identity;  // an old client: exactly as before
  if (!it->is_array()) throw ProtocolError("bad request: \"encodings\" is not an array");
  Encoding chosen = Encoding::identity;
  for (const Json& name : *it) {
    if (!name.is_string()) throw ProtocolError("bad request: \"encodings\" holds a non-string");
    // Names this build does not know ("br") are skipped: a newer client may offer more.
    std::optional<Encoding> known = encoding_named(name.get<std::string>());
    if (known && *known != Encoding::identity && chosen == Encoding::identity) chosen = *known;
  }
  return body_size < kMinCompressedBody ? Encoding::identity : chosen;
}

Encoding announced_encoding(const Json& reply, bool offered) {
  auto it = reply.find("encoding");
  if (it == reply.end()) return Encoding::identity;
  std::optional<Encoding> named =
      it->is_string() ? encoding_named(it->get<std::string>()) : std::nullopt;
  if (!offered || !named || *named == Encoding::identity)
    throw ProtocolError("the server chose encoding " + it->dump() + ", which was not offered");
  return *named;
}

std::string BodyStats::summary(Encoding encoding) const {
  return std::to_string(original) + " bytes as " + std::to_string(wire) + " (" +
         to_string(encoding) + "; " + std::to_string(compressed_chunks) + " of " +
         std::to_string(chunks) + " chunks compressed)";
}

BodyReader file_reader(int fd, uint64_t start) {
  return [fd, start](std::span<std::byte> buffer, uint64_t offset) {
    size_t done = 0;
    while (done < buffer.size()) {
      ssize_t n = ::pread(fd, buffer.data() + done, buffer.size() - done,
                          static_cast<off_t>(start + offset + done));
      if (n < 0 && errno == EINTR) continue;  // a regular file: no waits, just a signal
      if (n < 0) throw_errno("pread");
      if (n == 0) throw std::runtime_error("file ended early: it shrank while being sent");
      done += static_cast<size_t>(n);
    }
  };
}

BodyReader memory_reader(std::string_view data) {
  return [data](std::span<std::byte> buffer, uint64_t offset) {
    std::string_view part = data.substr(static_cast<size_t>(offset), buffer.size());
    std::copy_n(reinterpret_cast<const std::byte*>(part.data()), part.size(), buffer.data());
  };
}

BodyStats send_compressed_body(ByteSink& sink, IoContext& io, Json header, Encoding encoding,
                               uint64_t length, const BodyReader& read,
                               const KeepGoing& keep_going) {
  header["encoding"] = to_string(encoding);
  header["length"] = length;
  write_frame(sink, std::move(header));
  std::unique_ptr<Compressor> compressor = make_compressor(encoding);
  std::vector<std::byte> original(static_cast<size_t>(std::min<uint64_t>(length, kChunkSize)));
  std::vector<std::byte> packed;
  packed.reserve(original.size());
  BodyStats stats;
  int without_trial = 0;
  while (stats.original < length) {
    if (keep_going && !keep_going(stats)) break;
    std::span<std::byte> chunk = std::span(original).first(
        static_cast<size_t>(std::min<uint64_t>(length - stats.original, kChunkSize)));
    // Disk reads and compression may take milliseconds: off the event loop, if there is one.
    bool compressed = offloaded(io, [&] {
      read(chunk, stats.original);
      if (without_trial > 0) {
        --without_trial;
        return false;
      }
      packed.clear();
      compressor->compress(chunk, true,
                           [&](std::span<const std::byte> out) { append(packed, out); });
      if (packed.size() <= chunk.size() - chunk.size() / 16) return true;
      without_trial = kChunksWithoutTrial;  // already compressed (a JPEG, a .gz): stop trying
      return false;
    });
    if (compressed) {
      write_frame(sink, {{"encoding", to_string(encoding)}, {"length", chunk.size()}}, packed);
      stats.wire += packed.size();
      ++stats.compressed_chunks;
    } else {
      write_frame(sink, Json::object(), chunk);
      stats.wire += chunk.size();
    }
    stats.original += chunk.size();
    ++stats.chunks;
  }
  return stats;
}

uint64_t announced_length(const Json& header, uint64_t limit) {
  auto it = header.find("length");
  if (it == header.end() || !it->is_number_unsigned())
    throw ProtocolError("compressed body without a \"length\"");
  uint64_t length = it->get<uint64_t>();
  if (length > limit) {
    throw ProtocolError("compressed body of " + std::to_string(length) + " bytes, limit " +
                        std::to_string(limit));
  }
  return length;
}

BodyStats read_compressed_body(ByteSource& source, Encoding encoding, uint64_t length,
                               const ByteConsumer& consume) {
  std::unique_ptr<Decompressor> decompressor = make_decompressor(encoding, 0);
  std::vector<std::byte> original;
  BodyStats stats;
  while (stats.original < length) {
    uint64_t left = length - stats.original;
    std::optional<FrameHeader> chunk = read_frame_header(source, {.max_body = kChunkSize});
    if (!chunk) {
      throw FrameError(FrameErrorKind::truncated, "stream ended with " + std::to_string(left) +
                                                      " bytes of a compressed body missing");
    }
    if (chunk_encoding(chunk->header, encoding) == Encoding::identity) {
      if (chunk->body_size == 0) throw CompressionError("empty chunk");
      if (chunk->body_size > left)
        throw CompressionError("chunk of " + std::to_string(chunk->body_size) +
                               " bytes passes the body's end (" + std::to_string(left) + " left)");
      read_body(source, chunk->body_size, consume);
      stats.original += chunk->body_size;
    } else {
      uint64_t expected = chunk_length(chunk->header, left);
      // The declared length is the limit: a bomb stops here, at most kChunkSize bytes out.
      decompressor->reset(expected);
      original.clear();
      read_body(source, chunk->body_size, [&](std::span<const std::byte> piece) {
        decompressor->decompress(piece,
                                 [&](std::span<const std::byte> out) { append(original, out); });
      });
      if (!decompressor->finished())
        throw CompressionError(std::string(to_string(encoding)) + ": truncated compressed chunk");
      if (original.size() != expected)
        throw CompressionError("chunk decompresses to " + std::to_string(original.size()) +
                               " bytes, its header says " + std::to_string(expected));
      consume(original);
      stats.original += expected;
      ++stats.compressed_chunks;
    }
    stats.wire += chunk->body_size;
    ++stats.chunks;
  }
  return stats;
}

}  // namespace sockserv
