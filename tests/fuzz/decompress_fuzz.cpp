// libFuzzer target for the decompressors and the chunked compressed body that file-server
// and cmd-server read from peers. Whatever the bytes: no crash, never more output than the
// limit (a bomb stops there), never a chunk over kChunkSize nor a body past its length; and
// the same bytes compressed by our own compressor come back unchanged.
//
// Input: byte 0 picks the encoding (bit 0: zstd or gzip) and what is fed (bit 1: a raw
// compressed stream, or a chunked body of frames as compressed_body.hpp reads it); byte 1
// the size of the pieces a raw stream is fed in (1 to 256); the rest is the data.
// Build and run: make build/fuzz/decompress_fuzz; make fuzz (seeds: corpus/decompress,
// written by tests/fuzz/make-decompress-corpus)
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>

#include "compressed_body.hpp"
#include "compression.hpp"

namespace {

using namespace sockserv;

constexpr uint64_t kLimit = 1 << 20;

void raw_stream(Encoding encoding, std::span<const std::byte> data, size_t step) {
  std::unique_ptr<Decompressor> decompressor = make_decompressor(encoding, kLimit);
  uint64_t seen = 0;
  try {
    for (size_t at = 0; at < data.size(); at += step) {
      decompressor->decompress(data.subspan(at, std::min(step, data.size() - at)),
                               [&](std::span<const std::byte> piece) { seen += piece.size(); });
    }
  } catch (const CompressionError&) {
    // refused: what counts is that nothing past the limit came out first
  }
  if (seen > kLimit || seen != decompressor->produced()) __builtin_trap();
}

void chunked_body(Encoding encoding, std::span<const std::byte> data) {
  MemorySource source(data, 97);
  uint64_t seen = 0;
  try {
    read_compressed_body(source, encoding, kLimit, [&](std::span<const std::byte> chunk) {
      if (chunk.size() > kChunkSize) __builtin_trap();
      seen += chunk.size();
    });
    if (seen != kLimit) __builtin_trap();  // a body that ends well is whole
  } catch (const ProtocolError&) {
    // CompressionError, FrameError: refused
  }
  if (seen > kLimit) __builtin_trap();
}

void round_trip(Encoding encoding, std::span<const std::byte> data) {
  std::string packed, back;
  auto append_to = [](std::string& out) {
    return [&out](std::span<const std::byte> piece) {
      out.append(reinterpret_cast<const char*>(piece.data()), piece.size());
    };
  };
  make_compressor(encoding)->compress(data, true, append_to(packed));
  std::unique_ptr<Decompressor> decompressor = make_decompressor(encoding, data.size());
  decompressor->decompress(std::as_bytes(std::span(packed)), append_to(back));
  if (!decompressor->finished() || back.size() != data.size() ||
      std::memcmp(back.data(), data.data(), data.size()) != 0)
    __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  if (size < 2) return 0;
  Encoding encoding = (bytes[0] & 1) != 0 ? Encoding::gzip : Encoding::zstd;
  size_t step = size_t{bytes[1]} + 1;
  auto data = std::as_bytes(std::span(bytes + 2, size - 2));
  if ((bytes[0] & 2) != 0)
    chunked_body(encoding, data);
  else
    raw_stream(encoding, data, step);
  round_trip(encoding, data);
  return 0;
}
