// Compression without a server: zstd and gzip round trips fed in odd pieces, truncated,
// corrupt and trailing data refused, a decompression bomb stopped at its limit; and the
// chunked bodies of compressed_body (negotiation, plain chunks for data that does not
// shrink, every length a peer sends checked).
#include "compression.hpp"

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <random>

#include "compressed_body.hpp"

// Boost.Test names a data case by its sample: "zstd", "gzip".
namespace sockserv {
std::ostream& operator<<(std::ostream& out, Encoding encoding) {
  return out << to_string(encoding);
}
}  // namespace sockserv

using namespace sockserv;
namespace bdata = boost::unit_test::data;

namespace {

const auto kEncodings = bdata::make({Encoding::zstd, Encoding::gzip});

std::string random_text(size_t size, unsigned seed) {
  std::mt19937 random(seed);
  std::string data(size, '\0');
  for (char& c : data) c = static_cast<char>(random());
  return data;
}

// Log-like lines: compresses well, but not to nothing.
std::string text(size_t size) {
  std::string data;
  for (size_t i = 0; data.size() < size; ++i)
    data += "line " + std::to_string(i) + ": GET /index.html 200 " +
            std::to_string(i * 7919 % 100003) + "\n";
  data.resize(size);
  return data;
}

std::span<const std::byte> bytes(std::string_view s) {
  return std::as_bytes(std::span(s));
}

ByteConsumer append_to(std::string& out) {
  return [&out](std::span<const std::byte> piece) {
    out.append(reinterpret_cast<const char*>(piece.data()), piece.size());
  };
}

// Compresses `data` handed over `step` bytes at a time (finish with the last piece).
std::string compress(Encoding encoding, std::string_view data, size_t step) {
  std::unique_ptr<Compressor> compressor = make_compressor(encoding);
  std::string out;
  size_t at = 0;
  do {
    std::string_view piece = data.substr(at, step);
    at += piece.size();
    compressor->compress(bytes(piece), at == data.size(), append_to(out));
  } while (at < data.size());
  return out;
}

// Decompresses `packed` handed over `step` bytes at a time; `finished` tells whether the
// stream's end came.
std::string decompress(Encoding encoding, std::string_view packed, size_t step, bool* finished,
                       uint64_t limit = uint64_t{1} << 32) {
  std::unique_ptr<Decompressor> decompressor = make_decompressor(encoding, limit);
  std::string out;
  for (size_t at = 0; at < packed.size(); at += step)
    decompressor->decompress(bytes(packed.substr(at, step)), append_to(out));
  *finished = decompressor->finished();
  BOOST_TEST(decompressor->produced() == out.size());
  return out;
}

// A sink that keeps what is written (send_compressed_body's output, in memory).
struct StringSink : ByteSink {
  std::string bytes;
  void write_all(std::span<const std::byte> data) override {
    bytes.append(reinterpret_cast<const char*>(data.data()), data.size());
  }
  void send_file(int, uint64_t, uint64_t) override { BOOST_FAIL("no files here"); }
};

// What send_compressed_body writes for `data`: the opening frame's header, then the chunks.
std::string send(Encoding encoding, const std::string& data, BodyStats* stats) {
  StringSink sink;
  *stats = send_compressed_body(sink, client_io(), {{"status", "ok"}}, encoding, data.size(),
                                memory_reader(data));
  return sink.bytes;
}

// Reads what send() wrote back: the opening header, then the body.
std::string receive(const std::string& wire, Encoding encoding, size_t step, BodyStats* stats) {
  MemorySource source(bytes(wire), step);
  std::optional<FrameHeader> opening = read_frame_header(source, {});
  BOOST_REQUIRE(opening);
  BOOST_TEST(opening->header["encoding"] == to_string(encoding));
  std::string out;
  *stats = read_compressed_body(source, encoding, announced_length(opening->header, 1 << 30),
                                append_to(out));
  return out;
}

// A chunk frame as a hostile peer may write it.
std::string chunk_frame(Json header, std::string_view body) {
  StringSink sink;
  write_frame(sink, std::move(header), bytes(body));
  return sink.bytes;
}

std::string error_of(const std::function<void()>& work) {
  try {
    work();
  } catch (const ProtocolError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(compression)

BOOST_DATA_TEST_CASE(round_trip_in_odd_pieces, kEncodings, encoding) {
  for (const std::string& data : {random_text(300'001, 7), text(1'000'003), std::string()}) {
    for (size_t in_step : {1'021, 65'537, 1'000'000}) {
      std::string packed = compress(encoding, data, in_step);
      for (size_t out_step : {1, 3'333, 1'000'000}) {
        if (out_step == 1 && packed.size() > 100'000) continue;  // byte by byte: small ones
        bool finished = false;
        BOOST_TEST((decompress(encoding, packed, out_step, &finished) == data));
        BOOST_TEST(finished);
      }
    }
  }
  BOOST_TEST(compress(encoding, text(1'000'000), 4096).size() < 200'000u);
}

BOOST_DATA_TEST_CASE(one_compressor_makes_independent_streams, kEncodings, encoding) {
  std::unique_ptr<Compressor> compressor = make_compressor(encoding);
  std::unique_ptr<Decompressor> decompressor = make_decompressor(encoding, 1 << 20);
  for (int i = 0; i < 3; ++i) {
    std::string data = text(10'000 + i), packed, out;
    compressor->compress(bytes(data), true, append_to(packed));
    decompressor->reset(1 << 20);
    decompressor->decompress(bytes(packed), append_to(out));
    BOOST_TEST(decompressor->finished());
    BOOST_TEST((out == data));
  }
}

BOOST_DATA_TEST_CASE(a_truncated_stream_is_not_finished, kEncodings, encoding) {
  std::string data = text(200'000);
  std::string packed = compress(encoding, data, data.size());
  for (size_t cut : {size_t{1}, size_t{10}, packed.size() / 2, packed.size() - 1}) {
    bool finished = true;
    std::string out;
    std::string error =
        error_of([&] { out = decompress(encoding, packed.substr(0, cut), 977, &finished); });
    // Cut in its header the stream may be refused at once; otherwise it just never ends.
    BOOST_TEST((!error.empty() || !finished), "cut at " << cut);
  }
}

BOOST_DATA_TEST_CASE(corrupt_and_trailing_data_are_errors, kEncodings, encoding) {
  std::string packed = compress(encoding, text(100'000), 100'000);
  std::string corrupt = packed;
  for (size_t i = packed.size() / 3; i < packed.size() / 3 + 16; ++i) corrupt[i] ^= 0x5a;
  bool finished = false;
  std::string error = error_of([&] { decompress(encoding, corrupt, 4096, &finished); });
  BOOST_TEST((!error.empty() || !finished), "corrupt data went through");
  BOOST_TEST(error_of([&] {
               decompress(encoding, packed + "x", 1 << 20, &finished);
             }).find("data after the end") != std::string::npos);
  BOOST_TEST(error_of([&] { decompress(encoding, "not compressed at all", 5, &finished); }) != "");
}

BOOST_DATA_TEST_CASE(a_bomb_stops_at_the_limit, kEncodings, encoding) {
  // 1 GiB of zeros for zstd (some 32 KiB compressed); 256 MiB for gzip, whose deflate is
  // slower and whose ratio tops out near 1000:1 (some 250 KiB compressed).
  size_t total = encoding == Encoding::zstd ? size_t{1} << 30 : size_t{256} << 20;
  std::unique_ptr<Compressor> compressor = make_compressor(encoding);
  std::string zeros(1 << 20, '\0'), bomb;
  for (size_t done = 0; done < total; done += zeros.size())
    compressor->compress(bytes(zeros), done + zeros.size() == total, append_to(bomb));
  BOOST_TEST_MESSAGE(to_string(encoding) << " bomb: " << total << " bytes in " << bomb.size());
  BOOST_TEST(bomb.size() < total / 500);
  constexpr uint64_t kLimit = 1 << 20;
  std::unique_ptr<Decompressor> decompressor = make_decompressor(encoding, kLimit);
  uint64_t handed_out = 0;
  std::string error = error_of([&] {
    decompressor->decompress(bytes(bomb),
                             [&](std::span<const std::byte> piece) { handed_out += piece.size(); });
  });
  BOOST_TEST(error.find("decompresses to more than 1048576 bytes") != std::string::npos, error);
  BOOST_TEST(handed_out <= kLimit);
  BOOST_TEST(decompressor->produced() <= kLimit);
}

BOOST_AUTO_TEST_CASE(a_zstd_frame_asking_for_a_huge_window_is_refused) {
  // A frame header (RFC 8878) whose window descriptor asks for 2^(10+30) bytes: exponent 30.
  std::string frame("\x28\xb5\x2f\xfd\x00\xf0", 6);
  bool finished = false;
  BOOST_TEST(error_of([&] {
               decompress(Encoding::zstd, frame + std::string(16, '\0'), 64, &finished);
             }) != "");
}

BOOST_AUTO_TEST_CASE(the_server_chooses_from_what_is_offered) {
  BOOST_TEST((choose_encoding(Json::object(), 1 << 20) == Encoding::identity));
  BOOST_TEST((choose_encoding({{"encodings", {"br", "gzip", "zstd"}}}, 1 << 20) == Encoding::gzip));
  BOOST_TEST((choose_encoding({{"encodings", offered_encodings()}}, 1 << 20) == Encoding::zstd));
  BOOST_TEST((choose_encoding({{"encodings", {"br"}}}, 1 << 20) == Encoding::identity));
  BOOST_TEST(
      (choose_encoding({{"encodings", {"zstd"}}}, kMinCompressedBody - 1) == Encoding::identity));
  BOOST_CHECK_THROW(choose_encoding({{"encodings", "zstd"}}, 1 << 20), ProtocolError);
  BOOST_CHECK_THROW(choose_encoding({{"encodings", {1, 2}}}, 1 << 20), ProtocolError);
  BOOST_TEST(encodings_from_list("gzip,zstd", "--encodings") == Json({"gzip", "zstd"}));
  BOOST_CHECK_THROW(encodings_from_list("zstd,,gzip", "--encodings"), UsageError);
  BOOST_CHECK_THROW(encodings_from_list("identity", "--encodings"), UsageError);
  BOOST_TEST((announced_encoding(Json::object(), false) == Encoding::identity));
  BOOST_CHECK_THROW(announced_encoding({{"encoding", "zstd"}}, false), ProtocolError);
  BOOST_CHECK_THROW(announced_encoding({{"encoding", "br"}}, true), ProtocolError);
}

BOOST_DATA_TEST_CASE(a_body_round_trips_with_incompressible_chunks_sent_plain, kEncodings,
                     encoding) {
  // 1 MiB of text, 3 MiB of random bytes, 1 MiB of text, and an odd tail.
  std::string data = text(1 << 20) + random_text(3 << 20, 3) + text((1 << 20) + 12'345);
  BodyStats sent, received;
  std::string wire = send(encoding, data, &sent);
  BOOST_TEST((receive(wire, encoding, 70'001, &received) == data));
  BOOST_TEST(sent.original == data.size());
  BOOST_TEST(sent.chunks == (data.size() + kChunkSize - 1) / kChunkSize);
  // 21 chunks: 4 of text, compressed; 12 random: the first is tried, the next 7 go without a
  // trial, then one more trial (chunk 12), and 7 more go plain, the last 4 text chunks among
  // them; the last chunk is tried and compressed again.
  BOOST_TEST(sent.compressed_chunks == 5u);
  BOOST_TEST(sent.wire < data.size());
  BOOST_TEST(received.wire == sent.wire);
  BOOST_TEST(received.compressed_chunks == sent.compressed_chunks);
}

BOOST_DATA_TEST_CASE(every_chunk_length_a_peer_sends_is_checked, kEncodings, encoding) {
  std::string name = to_string(encoding);
  std::string small = text(1000), packed = compress(encoding, small, small.size());
  auto read = [&](const std::string& wire, uint64_t length) {
    return error_of([&] {
      MemorySource source(bytes(wire));
      read_compressed_body(source, encoding, length, [](std::span<const std::byte>) {});
    });
  };
  BOOST_TEST(read(chunk_frame({{"encoding", name}, {"length", 1000}}, packed), 1000) == "");
  BOOST_TEST(read(chunk_frame({{"encoding", name}, {"length", 999}}, packed), 1000)
                 .find("more than 999 bytes") != std::string::npos);
  BOOST_TEST(read(chunk_frame({{"encoding", name}, {"length", 1001}}, packed), 2000)
                 .find("decompresses to 1000 bytes") != std::string::npos);
  BOOST_TEST(read(chunk_frame({{"encoding", name}, {"length", 1000}}, packed), 500)
                 .find("passes the body's end") != std::string::npos);
  BOOST_TEST(read(chunk_frame({{"encoding", name}, {"length", kChunkSize + 1}}, packed), 1 << 30)
                 .find("limit") != std::string::npos);
  BOOST_TEST(read(chunk_frame({{"encoding", name}}, packed), 1000).find("\"length\"") !=
             std::string::npos);
  BOOST_TEST(
      read(chunk_frame({{"encoding", name}, {"length", 1000}}, packed.substr(0, 20)), 1000) != "");
  BOOST_TEST(read(chunk_frame({{"encoding", "br"}, {"length", 1000}}, packed), 1000)
                 .find("chunk encoded as") != std::string::npos);
  BOOST_TEST(read(chunk_frame(Json::object(), small), 999).find("passes") != std::string::npos);
  BOOST_TEST(read(chunk_frame(Json::object(), ""), 999).find("empty chunk") != std::string::npos);
  BOOST_TEST(read(chunk_frame(Json::object(), small), 2000).find("truncated") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
