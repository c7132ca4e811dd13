// zstd and gzip behind the Compressor / Decompressor interface (libzstd's streaming API,
// zlib's deflate/inflate with gzip headers).
#include "compression.hpp"

#include <zlib.h>
#include <zstd.h>

#include <new>
#include <stdexcept>
#include <string>
#include <vector>

namespace sockserv {
namespace {

constexpr size_t kOutputPiece = 64 * 1024;
// 2 MiB: the window zstd's default level 3 uses for large inputs (levels 1 and 2 use less).
constexpr int kZstdMaxWindowLog = 21;

// zstd's calls return an error code in a size_t; a parameter it refuses is our bug.
void check_zstd(size_t result, const char* call) {
  if (ZSTD_isError(result))
    throw std::logic_error(std::string(call) + ": " + ZSTD_getErrorName(result));
}

std::span<const std::byte> first(const std::vector<std::byte>& buffer, size_t n) {
  return std::span(buffer).first(n);
}

// Counts what a decompressor hands out and refuses the piece that would pass the limit.
class OutputLimit {
 public:
  explicit OutputLimit(uint64_t max) : max_(max) {}
  void hand_out(std::span<const std::byte> piece, const ByteConsumer& out, const char* what) {
    if (piece.empty()) return;
    if (piece.size() > max_ - produced_) {
      throw CompressionError(std::string(what) + " data decompresses to more than " +
                             std::to_string(max_) + " bytes");
    }
    produced_ += piece.size();
    out(piece);
  }
  uint64_t produced() const { return produced_; }
  void reset(uint64_t max) {
    max_ = max;
    produced_ = 0;
  }

 private:
  uint64_t max_;
  uint64_t produced_ = 0;
};

class ZstdCompressor : public Compressor {
 public:
  ZstdCompressor() : context_(ZSTD_createCCtx(), ZSTD_freeCCtx), buffer_(kOutputPiece) {
    if (!context_) throw std::bad_alloc();
    check_zstd(ZSTD_CCtx_setParameter(context_.get(), ZSTD_c_compressionLevel, 3),
               "ZSTD_CCtx_setParameter");
  }
  void compress(std::span<const std::byte> input, bool finish, const ByteConsumer& out) override {
    ZSTD_inBuffer in{input.data(), input.size(), 0};
    // ZSTD_e_end on a stream's first call tells zstd its whole size: it then picks a window
    // no larger than the input, which is all a receiver has to allocate.
    ZSTD_EndDirective mode = finish ? ZSTD_e_end : ZSTD_e_continue;
    for (;;) {
      ZSTD_outBuffer piece{buffer_.data(), buffer_.size(), 0};
      size_t left = ZSTD_compressStream2(context_.get(), &piece, &in, mode);
      if (ZSTD_isError(left))
        throw std::runtime_error(std::string("zstd compression: ") + ZSTD_getErrorName(left));
      if (piece.pos > 0) out(first(buffer_, piece.pos));
      // With e_end, `left` counts what is still to flush; with e_continue, input is the goal.
      if (finish ? left == 0 : in.pos == in.size) return;
    }
  }

 private:
  std::unique_ptr<ZSTD_CCtx, size_t (*)(ZSTD_CCtx*)> context_;
  std::vector<std::byte> buffer_;
};

class ZstdDecompressor : public Decompressor {
 public:
  explicit ZstdDecompressor(uint64_t max_output)
      : context_(ZSTD_createDCtx(), ZSTD_freeDCtx), buffer_(kOutputPiece), limit_(max_output) {
    if (!context_) throw std::bad_alloc();
    // The frame header names the window it needs; a hostile one could ask for 2 GiB.
    check_zstd(ZSTD_DCtx_setParameter(context_.get(), ZSTD_d_windowLogMax, kZstdMaxWindowLog),
               "ZSTD_DCtx_setParameter");
  }
  void decompress(std::span<const std::byte> input, const ByteConsumer& out) override {
    ZSTD_inBuffer in{input.data(), input.size(), 0};
    bool output_full = false;  // zstd may hold more output even when all input is taken
    for (;;) {
      if (finished_ && in.pos < in.size)
        throw CompressionError("zstd: data after the end of the compressed stream");
      if (finished_ || (in.pos == in.size && !output_full)) return;
      ZSTD_outBuffer piece{buffer_.data(), buffer_.size(), 0};
      size_t hint = ZSTD_decompressStream(context_.get(), &piece, &in);
      if (ZSTD_isError(hint))
        throw CompressionError(std::string("zstd: ") + ZSTD_getErrorName(hint));
      limit_.hand_out(first(buffer_, piece.pos), out, "zstd");
      finished_ = hint == 0;  // 0: the frame is complete and all its output flushed
      output_full = piece.pos == piece.size;
    }
  }
  bool finished() const override { return finished_; }
  uint64_t produced() const override { return limit_.produced(); }
  void reset(uint64_t max_output) override {
    check_zstd(ZSTD_DCtx_reset(context_.get(), ZSTD_reset_session_only), "ZSTD_DCtx_reset");
    limit_.reset(max_output);
    finished_ = false;
  }

 private:
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> context_;
  std::vector<std::byte> buffer_;
  OutputLimit limit_;
  bool finished_ = false;
};

// windowBits 15 + 16: zlib writes and reads the gzip header and trailer (RFC 1952, with its
// CRC-32 and length), not its own zlib wrapper.
constexpr int kGzipWindowBits = 15 + 16;

Bytef* zlib_input(std::span<const std::byte> input) {
  // avail_in is an unsigned int: our callers hand over chunks of kilobytes, never 4 GiB.
  if (input.size() > UINT32_MAX) throw std::invalid_argument("gzip: input piece over 4 GiB");
  // zlib's next_in is not const-qualified, but inflate and deflate never write through it.
  return reinterpret_cast<Bytef*>(const_cast<std::byte*>(input.data()));
}

class GzipCompressor : public Compressor {
 public:
  GzipCompressor() : buffer_(kOutputPiece) {
    if (deflateInit2(&stream_, Z_DEFAULT_COMPRESSION, Z_DEFLATED, kGzipWindowBits, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK)
      throw std::bad_alloc();
  }
  ~GzipCompressor() override { deflateEnd(&stream_); }
  GzipCompressor(const GzipCompressor&) = delete;
  GzipCompressor& operator=(const GzipCompressor&) = delete;

  void compress(std::span<const std::byte> input, bool finish, const ByteConsumer& out) override {
    stream_.next_in = zlib_input(input);
    stream_.avail_in = static_cast<uInt>(input.size());
    for (;;) {
      stream_.next_out = reinterpret_cast<Bytef*>(buffer_.data());
      stream_.avail_out = static_cast<uInt>(buffer_.size());
      int result = deflate(&stream_, finish ? Z_FINISH : Z_NO_FLUSH);
      if (result == Z_STREAM_ERROR) throw std::runtime_error("gzip compression: stream error");
      size_t n = buffer_.size() - stream_.avail_out;
      if (n > 0) out(first(buffer_, n));
      if (result == Z_STREAM_END) {
        // Ready for the next, independent member.
        if (deflateReset(&stream_) != Z_OK) throw std::logic_error("deflateReset failed");
        return;
      }
      if (!finish && stream_.avail_in == 0 && stream_.avail_out != 0) return;
    }
  }

 private:
  z_stream stream_{};
  std::vector<std::byte> buffer_;
};

class GzipDecompressor : public Decompressor {
 public:
  explicit GzipDecompressor(uint64_t max_output) : buffer_(kOutputPiece), limit_(max_output) {
    if (inflateInit2(&stream_, kGzipWindowBits) != Z_OK) throw std::bad_alloc();
  }
  ~GzipDecompressor() override { inflateEnd(&stream_); }
  GzipDecompressor(const GzipDecompressor&) = delete;
  GzipDecompressor& operator=(const GzipDecompressor&) = delete;

  void decompress(std::span<const std::byte> input, const ByteConsumer& out) override {
    if (input.empty()) return;
    if (finished_) throw CompressionError("gzip: data after the end of the compressed stream");
    stream_.next_in = zlib_input(input);
    stream_.avail_in = static_cast<uInt>(input.size());
    for (;;) {
      stream_.next_out = reinterpret_cast<Bytef*>(buffer_.data());
      stream_.avail_out = static_cast<uInt>(buffer_.size());
      int result = inflate(&stream_, Z_NO_FLUSH);
      // Z_BUF_ERROR: no progress possible without more input; not an error in a stream.
      if (result != Z_OK && result != Z_STREAM_END && result != Z_BUF_ERROR) {
        throw CompressionError(std::string("gzip: ") +
                               (stream_.msg != nullptr ? stream_.msg : "corrupt data"));
      }
      limit_.hand_out(first(buffer_, buffer_.size() - stream_.avail_out), out, "gzip");
      if (result == Z_STREAM_END) {
        finished_ = true;
        if (stream_.avail_in > 0)
          throw CompressionError("gzip: data after the end of the compressed stream");
        return;
      }
      if (result == Z_BUF_ERROR || (stream_.avail_in == 0 && stream_.avail_out != 0)) return;
    }
  }
  bool finished() const override { return finished_; }
  uint64_t produced() const override { return limit_.produced(); }
  void reset(uint64_t max_output) override {
    if (inflateReset(&stream_) != Z_OK) throw std::logic_error("inflateReset failed");
    limit_.reset(max_output);
    finished_ = false;
  }

 private:
  z_stream stream_{};
  std::vector<std::byte> buffer_;
  OutputLimit limit_;
  bool finished_ = false;
};

}  // namespace

const char* to_string(Encoding encoding) {
  switch (encoding) {
    case Encoding::identity:
      return "identity";
    case Encoding::zstd:
      return "zstd";
    case Encoding::gzip:
      return "gzip";
  }
  return "?";
}

std::optional<Encoding> encoding_named(std::string_view name) {
  if (name == "identity") return Encoding::identity;
  if (name == "zstd") return Encoding::zstd;
  if (name == "gzip") return Encoding::gzip;
  return std::nullopt;
}

std::unique_ptr<Compressor> make_compressor(Encoding encoding) {
  if (encoding == Encoding::zstd) return std::make_unique<ZstdCompressor>();
  if (encoding == Encoding::gzip) return std::make_unique<GzipCompressor>();
  throw std::invalid_argument("no compressor for identity");
}

std::unique_ptr<Decompressor> make_decompressor(Encoding encoding, uint64_t max_output) {
  if (encoding == Encoding::zstd) return std::make_unique<ZstdDecompressor>(max_output);
  if (encoding == Encoding::gzip) return std::make_unique<GzipDecompressor>(max_output);
  throw std::invalid_argument("no decompressor for identity");
}

}  // namespace sockserv
