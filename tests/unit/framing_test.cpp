// Frame reader: every seed of the fuzz corpus, fed one byte per write through a socketpair,
// gives the outcome its file name announces and the same result as reading it in one piece.
#include "framing.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

using namespace sockserv;
using namespace std::chrono_literals;

namespace {

constexpr FrameLimits kLimits{.max_header = 64 * 1024, .max_body = 1 << 20};

struct Outcome {
  std::vector<std::string> frames;  // header dump + body of each whole frame
  std::string error;                // "" or the FrameErrorKind's name
  bool operator==(const Outcome&) const = default;
};

Outcome read_all(ByteSource& source) {
  Outcome outcome;
  try {
    while (std::optional<Frame> frame = read_frame(source, kLimits)) {
      outcome.frames.push_back(frame->header.dump() + "|" + frame->body);
    }
  } catch (const FrameError& e) {
    outcome.error = to_string(e.kind);
  }
  return outcome;
}

// The error kind a corpus name announces ("" for "ok-N-...").
std::string expected_error(const std::string& name) {
  static const std::pair<const char*, FrameErrorKind> kNames[] = {
      {"truncated", FrameErrorKind::truncated},
      {"header_too_long", FrameErrorKind::header_too_long},
      {"invalid_json", FrameErrorKind::invalid_json},
      {"not_an_object", FrameErrorKind::not_an_object},
      {"too_deep", FrameErrorKind::too_deep},
      {"bad_size", FrameErrorKind::bad_size},
      {"body_too_large", FrameErrorKind::body_too_large}};
  for (const auto& [prefix, kind] : kNames) {
    if (name.rfind(prefix, 0) == 0) return to_string(kind);
  }
  return "";
}

// A frame with this header text and no body.
std::string frame_of(const std::string& header) {
  uint32_t length = htonl(static_cast<uint32_t>(header.size()));  // big-endian, as on the wire
  return std::string(reinterpret_cast<const char*>(&length), 4) + header;
}

// A header `depth` levels deep: an object around depth - 1 nested arrays ({"a":[]} is 2).
std::string nested_header(size_t depth) {
  return "{\"a\":" + std::string(depth - 1, '[') + std::string(depth - 1, ']') + "}";
}

Outcome read_one_byte_at_a_time(const std::string& data) {
  int fds[2];
  BOOST_REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
  UniqueFd reader(fds[0]);
  UniqueFd writer(fds[1]);
  std::jthread feeder([&writer, &data] {
    for (char c : data) {
      // MSG_NOSIGNAL: a reader that stopped early gives EPIPE here, not a fatal SIGPIPE.
      if (::send(writer.get(), &c, 1, MSG_NOSIGNAL) != 1) break;
    }
    writer.reset();  // EOF after the last byte
  });
  FdStream stream(reader.get(), 10000ms);
  Outcome outcome = read_all(stream);
  reader.reset();  // unblocks a feeder still writing into a reader that gave up
  return outcome;
}

std::filesystem::path corpus_dir() {
  return std::filesystem::path(__FILE__).parent_path().parent_path() / "fuzz" / "corpus" / "frame";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(framing)

BOOST_AUTO_TEST_CASE(every_corpus_frame_fed_one_byte_at_a_time) {
  BOOST_REQUIRE_MESSAGE(std::filesystem::is_directory(corpus_dir()),
                        "no corpus at " << corpus_dir());
  size_t seeds = 0;
  for (const auto& entry : std::filesystem::directory_iterator(corpus_dir())) {
    std::ifstream file(entry.path(), std::ios::binary);
    std::string data{std::istreambuf_iterator<char>(file), {}};
    std::string name = entry.path().filename().string();
    MemorySource whole(as_bytes(data));
    Outcome expected = read_all(whole);
    Outcome trickled = read_one_byte_at_a_time(data);
    BOOST_TEST((trickled == expected), name << ": one byte at a time differs from all at once");
    BOOST_TEST(trickled.error == expected_error(name), name << ": got '" << trickled.error << "'");
    if (name.rfind("ok-", 0) == 0) {
      BOOST_TEST(trickled.frames.size() == std::stoul(name.substr(3)), name);
    }
    ++seeds;
  }
  BOOST_TEST(seeds >= 20u);
}

BOOST_AUTO_TEST_CASE(write_then_read_round_trip_with_a_body) {
  struct Sink : ByteSink {
    std::string bytes;
    void write_all(std::span<const std::byte> data) override {
      bytes.append(reinterpret_cast<const char*>(data.data()), data.size());
    }
    void send_file(int, uint64_t, uint64_t) override {}
  } sink;
  write_frame(sink, {{"op", "get"}}, as_bytes("body!"));
  // {"op":"get","size":5} is 21 bytes: 00 00 00 15, most significant byte first.
  BOOST_TEST(sink.bytes.substr(0, 4) == std::string("\0\0\0\x15", 4));
  MemorySource source(as_bytes(sink.bytes), 1);
  std::optional<Frame> frame = read_frame(source, kLimits);
  BOOST_REQUIRE(frame);
  BOOST_TEST(frame->header["op"] == "get");
  BOOST_TEST(frame->body == "body!");
  BOOST_TEST(!read_frame(source, kLimits));
}

// The message deadlines (Connection::begin_message) hang on these marks: a header is one
// message from its first byte, and a body one message per 64 KiB piece.
BOOST_AUTO_TEST_CASE(a_header_and_each_64k_piece_of_a_body_are_messages) {
  struct Sink : ByteSink {
    std::string bytes;
    void write_all(std::span<const std::byte> data) override {
      bytes.append(reinterpret_cast<const char*>(data.data()), data.size());
    }
    void send_file(int, uint64_t, uint64_t) override {}
  } sink;
  std::string body(150 * 1024, 'b');  // three pieces: 64 KiB, 64 KiB, 22 KiB
  write_frame(sink, {{"op", "put"}}, as_bytes(body));
  write_frame(sink, {{"op", "list"}});
  struct Marked : MemorySource {
    using MemorySource::MemorySource;
    std::vector<std::string> marks;
    void begin_message(const char* what) override { marks.push_back(what); }
    void end_message() override { marks.push_back("end"); }
  } source(as_bytes(sink.bytes), 1000);
  std::optional<Frame> first = read_frame(source, kLimits);
  BOOST_REQUIRE(first);
  BOOST_TEST(first->body == body);
  std::optional<Frame> second = read_frame(source, kLimits);
  BOOST_REQUIRE(second);
  BOOST_TEST(!read_frame(source, kLimits));  // a clean end begins no message
  std::vector<std::string> expected{"frame header", "frame body",   "frame body", "frame body",
                                    "end",          "frame header", "end"};
  std::string seen;
  for (const std::string& mark : source.marks) seen += mark + ";";
  BOOST_TEST(source.marks == expected, seen);
}

BOOST_AUTO_TEST_CASE(a_length_over_the_limit_is_refused_before_reading_the_header) {
  std::string data = std::string("\x00\x01\x00\x01", 4) + "{}";  // 65537
  MemorySource source(as_bytes(data));
  BOOST_CHECK_EXCEPTION(read_frame_header(source, kLimits), FrameError, [](const FrameError& e) {
    return e.kind == FrameErrorKind::header_too_long;
  });
}

BOOST_AUTO_TEST_CASE(header_depth_32_is_accepted_33_refused) {
  std::string ok = frame_of(nested_header(32));
  MemorySource source(as_bytes(ok));
  std::optional<Frame> frame = read_frame(source, kLimits);
  BOOST_REQUIRE(frame);
  BOOST_TEST(frame->header.contains("a"));
  std::string deep = frame_of(nested_header(33));
  MemorySource too_deep(as_bytes(deep));
  BOOST_CHECK_EXCEPTION(read_frame(too_deep, kLimits), FrameError, [](const FrameError& e) {
    return e.kind == FrameErrorKind::too_deep &&
           std::string(e.what()).find("header nested too deeply") == 0;
  });
}

// 100,000 open brackets and then garbage: refused as too deep, not as invalid JSON, which
// shows that parsing stops at the 33rd level instead of descending to the end.
BOOST_AUTO_TEST_CASE(a_100000_deep_header_is_refused_at_level_33, *boost::unit_test::timeout(10)) {
  std::string deep = frame_of(std::string(100'000, '[') + "not json");
  MemorySource source(as_bytes(deep));
  BOOST_CHECK_EXCEPTION(read_frame(source, {.max_header = 1 << 20, .max_body = 0}), FrameError,
                        [](const FrameError& e) { return e.kind == FrameErrorKind::too_deep; });
}

BOOST_AUTO_TEST_SUITE_END()
