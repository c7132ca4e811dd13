// file-server and file-client: transfers under every model, sha256, resume, uploads,
// traversal refusals, and broken frames that must not disturb a concurrent transfer.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <set>

#include "file_helpers.hpp"
#include "traversal_corpus.hpp"

namespace bdata = boost::unit_test::data;
namespace fs = std::filesystem;
namespace file_test {

const auto kModels = bdata::make(all_models());

// Sends `bad`, half-closes, and returns the "error" of the one frame the server answers
// before it closes ("" if it answers anything else).
std::string last_words(uint16_t port, const std::string& bad) {
  std::string reply = exchange(port, bad, 10000ms);
  MemorySource source(as_bytes(reply));
  std::optional<Frame> frame = read_frame(source, {.max_body = 0});
  if (!frame || read_frame(source, {.max_body = 0})) return "";
  return frame->header.value("error", "");
}

// The content of the file `name` under `root` ("" when there is none).
std::string tree_file(const fs::path& root, const std::string& name) {
  std::ifstream in(root / name, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace file_test
using namespace file_test;

BOOST_AUTO_TEST_SUITE(files)

BOOST_DATA_TEST_CASE(list_get_put_round_trip, kModels, model) {
  TempDir root, out;
  root.write("a.txt", "hello\n");
  root.write("sub/b.bin", random_bytes(100'000, 5));
  ServerProcess server = start_files(root, model, {"--allow-upload"});
  RunResult list = run_program("file-client", {server.address(), "list"});
  BOOST_TEST(list.exit_code == 0, list.err);
  BOOST_TEST(list.out.find("file\t6\t") != std::string::npos, list.out);
  BOOST_TEST(list.out.find("dir\t") != std::string::npos, list.out);
  RunResult sub = run_program("file-client", {server.address(), "list", "sub"});
  BOOST_TEST(sub.out.find("file\t100000\t") != std::string::npos, sub.out);
  RunResult get = run_program(
      "file-client", {server.address(), "get", "sub/b.bin", "-o", (out.path / "b").string()});
  BOOST_TEST(get.exit_code == 0, get.err);
  BOOST_TEST((out.read("b") == root.read("sub/b.bin")));
  out.write("up.txt", "uploaded");
  RunResult put = run_program(
      "file-client", {server.address(), "put", (out.path / "up.txt").string(), "sub/up.txt"});
  BOOST_TEST(put.exit_code == 0, put.err);
  BOOST_TEST(root.read("sub/up.txt") == "uploaded");
  RunResult again = run_program(
      "file-client", {server.address(), "put", (out.path / "up.txt").string(), "sub/up.txt"});
  BOOST_TEST(again.exit_code != 0);
  BOOST_TEST(again.err.find("exists") != std::string::npos, again.err);
  RunResult missing = run_program(
      "file-client", {server.address(), "get", "nope", "-o", (out.path / "nope").string()});
  BOOST_TEST(missing.exit_code != 0);
  BOOST_TEST(missing.err.find("not found") != std::string::npos, missing.err);
  BOOST_TEST(!fs::exists(out.path / "nope"));
  BOOST_TEST(!fs::exists(out.path / "nope.part"), "a refused get left its empty part file");
  BOOST_TEST(server.stop() == 0);
}

BOOST_AUTO_TEST_CASE(get_of_64_mib_arrives_with_matching_sha256) {
  TempDir root, out;
  std::string data = random_bytes(64 << 20, 64);
  root.write("big", data);
  ServerProcess server = start_files(root, "fork");
  RunResult get =
      run_program("file-client",
                  {server.address(), "get", "big", "-o", (out.path / "big").string()}, "", 60000ms);
  BOOST_TEST(get.exit_code == 0, get.err);
  BOOST_TEST(sha256(out.read("big")) == sha256(data));
  BOOST_TEST(!fs::exists(out.path / "big.part"));
}

BOOST_AUTO_TEST_CASE(a_changed_file_is_not_served_with_its_old_cached_digest) {
  TempDir root, out;
  root.write("f", random_bytes(200'000, 1));
  ServerProcess server = start_files(root, "thread");
  std::string target = (out.path / "f").string();
  for (unsigned round = 0; round < 3; ++round) {
    // Same size, new content (and so a new mtime): the cached sha256 must not be reused.
    if (round > 0) {
      ::usleep(20'000);
      root.write("f", random_bytes(200'000, round + 1));
    }
    RunResult r = run_program("file-client", {server.address(), "get", "f", "-o", target});
    BOOST_TEST(r.exit_code == 0, "round " << round << ": " << r.err);
    BOOST_TEST((out.read("f") == root.read("f")), "round " << round);
  }
}

BOOST_AUTO_TEST_CASE(continue_resumes_a_cut_download_and_a_bad_part_is_caught) {
  TempDir root, out;
  std::string data = random_bytes(3 << 20, 9);
  root.write("f", data);
  ServerProcess server = start_files(root, "thread");
  {
    // Cut a download: read part of the body, then hang up. The server must carry on.
    RawClient raw(server.port());
    write_frame(raw.stream, {{"op", "get"}, {"name", "f"}});
    std::optional<FrameHeader> header = read_frame_header(raw.stream, {.max_body = 1 << 30});
    BOOST_REQUIRE(header);
    BOOST_TEST(header->body_size == data.size());
    std::string first(1 << 20, '\0');
    BOOST_REQUIRE(read_full(raw.fd.get(), std::as_writable_bytes(std::span(first)),
                            Deadline::after(10000ms)) == first.size());
    out.write("f.part", first);
  }
  std::string target = (out.path / "f").string();
  RunResult resumed =
      run_program("file-client", {server.address(), "get", "f", "-o", target, "--continue"});
  BOOST_TEST(resumed.exit_code == 0, resumed.err);
  BOOST_TEST((out.read("f") == data));
  BOOST_TEST(server.wait_for_log("get f from 1048576"), server.log());
  // A part file that does not match the server's file fails the sha256 check: no output.
  out.write("g.part", std::string(1000, 'x'));
  RunResult bad = run_program(
      "file-client", {server.address(), "get", "f", "-o", (out.path / "g").string(), "--continue"});
  BOOST_TEST(bad.exit_code != 0);
  BOOST_TEST(bad.err.find("sha256 mismatch") != std::string::npos, bad.err);
  BOOST_TEST(!fs::exists(out.path / "g"));
}

BOOST_AUTO_TEST_CASE(a_file_over_4_gib_resumes_past_the_4_gib_mark) {
  // Sparse files: 4 GiB + 1 MiB of size, a few blocks on disk. Sizes and offsets need 64 bits.
  // Both sides hash 4 GiB (the server its file, the client the part it has): in memory, so
  // that reading the holes costs seconds, not the better part of a minute.
  TempDir root("huge", memory_backed_base()), out("huge-out", memory_backed_base());
  constexpr uint64_t kSize = (uint64_t{4} << 30) + (1 << 20);
  std::string tail = "the last bytes";
  {
    UniqueFd f(::open((root.path / "huge").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
    BOOST_REQUIRE(
        f && ::pwrite(f.get(), tail.data(), tail.size(), static_cast<off_t>(kSize - tail.size())) ==
                 static_cast<ssize_t>(tail.size()));
    UniqueFd part(::open((out.path / "huge.part").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
    BOOST_REQUIRE(part && ::ftruncate(part.get(), static_cast<off_t>(kSize - tail.size())) == 0);
  }
  ServerProcess server = start_files(root, "fork");
  RunResult list = run_program("file-client", {server.address(), "list"});
  BOOST_TEST(list.out.find("file\t4296015872\t") != std::string::npos, list.out);
  RunResult get = run_program(
      "file-client",
      {server.address(), "get", "huge", "-o", (out.path / "huge").string(), "--continue",
       "--timeout", "110"},  // the server says nothing until it has hashed its 4 GiB
      "", 120000ms);
  BOOST_TEST(get.exit_code == 0, get.err);
  BOOST_TEST(fs::file_size(out.path / "huge") == kSize);
  BOOST_TEST(server.wait_for_log("get huge from 4296015858 (14 bytes)"), server.log());
}

BOOST_AUTO_TEST_CASE(upload_with_a_wrong_hash_is_rejected_and_leaves_no_file) {
  TempDir root;
  ServerProcess server = start_files(root, "fork", {"--allow-upload"});
  RawClient raw(server.port());
  std::string body = "the real content";
  Frame ready = raw.ask({{"op", "put"},
                         {"name", "u.txt"},
                         {"length", body.size()},
                         {"sha256", sha256("something else")}});
  BOOST_TEST(ready.header["status"] == "ready");
  write_frame(raw.stream, Json::object(), as_bytes(body));
  std::optional<Frame> reply = read_frame(raw.stream, {.max_body = 1 << 20});
  BOOST_REQUIRE(reply);
  BOOST_TEST(reply->header["status"] == "error");
  BOOST_TEST(reply->header["error"].get<std::string>().find("sha256 mismatch") !=
             std::string::npos);
  BOOST_TEST(root_names(root.path) == std::set<std::string>{}, "no file and no temporary left");
  // The same connection goes on: a correct upload now succeeds.
  BOOST_TEST(
      raw.ask({{"op", "put"}, {"name", "u.txt"}, {"length", body.size()}, {"sha256", sha256(body)}})
          .header["status"] == "ready");
  write_frame(raw.stream, Json::object(), as_bytes(body));
  BOOST_TEST(read_frame(raw.stream, {.max_body = 0})->header["status"] == "ok");
  BOOST_TEST(root.read("u.txt") == body);
}

BOOST_AUTO_TEST_CASE(uploads_are_refused_without_allow_upload) {
  TempDir root;
  ServerProcess server = start_files(root, "fork");
  RawClient raw(server.port());
  Frame reply = raw.ask({{"op", "put"}, {"name", "x"}, {"length", 1}, {"sha256", sha256("x")}});
  BOOST_TEST(reply.header["error"] == "uploads not allowed");
  BOOST_TEST(fs::is_empty(root.path));
}

// Gate 8: the shared traversal corpus (tests/data/traversal-corpus.json) with every verb
// under every model. Escapes get an error frame from get, list and put; literal names read
// nothing and are written, if at all, inside the root under exactly that name; no reply
// carries a byte from outside, nothing outside changes, and the server goes on serving.
BOOST_DATA_TEST_CASE(traversal_corpus_touches_nothing_outside_the_root, kModels, model) {
  TraversalFixture tree;
  const std::string before = tree.snapshot_outside();
  ServerProcess server = start_files(tree.root().string(), model, {"--allow-upload"});
  auto raw_owner = std::make_unique<RawClient>(server.port());  // closed before the last check
  RawClient& raw = *raw_owner;
  auto leaks = [&](const Frame& f) {
    std::string all = f.header.dump(-1, ' ', false, Json::error_handler_t::replace) + f.body;
    return all.find(tree.outside_secret()) != std::string::npos ||
           all.find(TraversalFixture::kOutsideOnlyName) != std::string::npos;
  };
  // Every read-only verb: must answer with an error frame and nothing from outside.
  auto refused_reads = [&](const CorpusName& entry) {
    for (const Json& request : {Json{{"op", "get"}, {"name", entry.name}},
                                Json{{"op", "get"}, {"name", entry.name}, {"offset", 1}},
                                Json{{"op", "list"}, {"dir", entry.name}}}) {
      Frame reply = raw.ask(request);
      BOOST_TEST(reply.header["status"] == "error", entry.why << ": " << request["op"]);
      BOOST_TEST(!leaks(reply), entry.why);
    }
  };
  // A put: the final reply (an error at once, or after the body).
  auto put = [&](const std::string& name, const std::string& body) {
    Frame reply = raw.ask_put(name, body);
    if (reply.header["status"] != "ready") return reply.header;
    write_frame(raw.stream, Json::object(), as_bytes(body));
    return raw.reply().header;
  };
  for (const CorpusName& entry : tree.escapes()) {
    refused_reads(entry);
    Json reply = put(entry.name, "escape attempt");
    BOOST_TEST(reply["status"] == "error", entry.why << ": put " << reply.dump());
  }
  for (const CorpusName& entry : tree.literals()) {
    refused_reads(entry);
    std::string body = "literal: " + entry.why;
    if (put(entry.name, body)["status"] == "ok") {
      BOOST_TEST(tree_file(tree.root(), entry.name) == body, entry.why);
    }
  }
  for (const InsideName& entry : tree.inside()) {
    Frame reply = raw.ask({{"op", "get"}, {"name", entry.name}});
    BOOST_TEST(reply.body == entry.content, entry.name << ": " << reply.header.dump());
  }
  BOOST_TEST(tree.snapshot_outside() == before, "something outside the root changed");
  BOOST_TEST(server.wait_for_log("refused name \"link-out\": outside root"), server.log());
  BOOST_TEST(server.running());
  raw_owner.reset();  // the iterative model serves one connection at a time
  RunResult list = run_program("file-client", {server.address(), "list"});
  BOOST_TEST(list.exit_code == 0, "still serving: " << list.err);
  BOOST_TEST(list.out.find("ok.txt") != std::string::npos, list.out);
}

BOOST_DATA_TEST_CASE(broken_frames_close_their_connection_while_a_transfer_completes,
                     bdata::make(concurrent_models()), model) {
  TempDir root;
  std::string data = random_bytes(32 << 20, 32);
  root.write("big", data);
  ServerProcess server = start_files(root, model);
  // A transfer that is surely in progress: its first MiB is read, the rest waits.
  RawClient transfer(server.port());
  write_frame(transfer.stream, {{"op", "get"}, {"name", "big"}});
  std::optional<FrameHeader> header = read_frame_header(transfer.stream, {.max_body = 1 << 30});
  BOOST_REQUIRE(header && header->body_size == data.size());
  Sha256 received;
  uint64_t left = header->body_size;
  std::string chunk(1 << 20, '\0');
  BOOST_REQUIRE(read_full(transfer.fd.get(), std::as_writable_bytes(std::span(chunk)),
                          Deadline::after(10000ms)) == chunk.size());
  received.update(as_bytes(chunk));
  left -= chunk.size();
  const std::string kBad[] = {
      std::string("\xff\xff\xff\xff{}", 6),                  // a 4 GiB length prefix
      std::string("\x00\x00\x00", 3),                        // 3 bytes, then hang up
      std::string("\x00\x00\x00\x0b", 4) + "not json!!}",    // garbage JSON
      std::string("\x00\x00\x00\x03", 4) + "[1]",            // not an object
      std::string("\x00\x00\x00\x0b", 4) + "{\"size\":-1}",  // negative size
  };
  const char* const kKinds[] = {"header length over the limit", "truncated frame",
                                "invalid JSON header", "header is not a JSON object",
                                "bad body size"};
  for (size_t i = 0; i < std::size(kBad); ++i) {
    // The server says why in a last error frame, then closes that connection.
    std::string error = last_words(server.port(), kBad[i]);
    BOOST_TEST(error.find(std::string("protocol error: ") + kKinds[i]) == 0u,
               kKinds[i] << ": got '" << error << "'");
  }
  // Meanwhile the transfer was not disturbed: the rest arrives, byte for byte.
  read_body(transfer.stream, left, [&](std::span<const std::byte> part) { received.update(part); });
  BOOST_TEST(received.hex_digest() == sha256(data));
  BOOST_TEST(header->header["sha256"] == sha256(data));
  for (const char* kind : kKinds) {
    BOOST_TEST(server.wait_for_log(kind), kind << " not logged:\n" << server.log());
  }
  BOOST_TEST(run_program("file-client", {server.address(), "list"}).exit_code == 0,
             "still serving");
}

// A header of nothing but '[' as deep as the 64 KiB header limit allows (65,536 levels; the
// 100,000 of the unit test would be refused for its length first): the server must stop
// at level 33, answer with an error frame, and go on serving.
BOOST_DATA_TEST_CASE(a_deeply_nested_header_is_refused_and_the_server_goes_on, kModels, model) {
  TempDir root;
  root.write("a.txt", "hello\n");
  ServerProcess server = start_files(root, model);
  std::string deep = std::string("\x00\x01\x00\x00", 4) + std::string(65536, '[');
  std::string error = last_words(server.port(), deep);
  BOOST_TEST(error.find("protocol error: header nested too deeply") == 0u, "got '" << error << "'");
  BOOST_TEST(server.wait_for_log("header nested too deeply"), server.log());
  RunResult list = run_program("file-client", {server.address(), "list"});
  BOOST_TEST(list.exit_code == 0, list.err);
  BOOST_TEST(list.out.find("a.txt") != std::string::npos, list.out);
}

BOOST_AUTO_TEST_SUITE_END()
