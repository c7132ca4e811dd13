// Compressed frame bodies (issue 11): file-client get/put --compress round trips under the
// models, what an old client sees, already-compressed data sent plain, resume, cmd-server's
// output, and hostile compressed uploads: a zstd bomb and corrupt data end their own
// connection with an error frame while the server's memory stays flat and it serves on.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <fstream>
#include <future>

#include "compressed_body.hpp"
#include "file_helpers.hpp"
#include "socket.hpp"

namespace bdata = boost::unit_test::data;

namespace compression_test {

using namespace file_test;

// Log-like text: compresses well (the 64 MiB case stays fast), yet every line differs.
std::string log_text(size_t size) {
  std::string data;
  data.reserve(size + 100);
  for (size_t i = 0; data.size() < size; ++i) {
    data += "2026-12-02T06:00:00Z 127.0.0.1 GET /files/" + std::to_string(i % 977) + " 200 " +
            std::to_string(i) + "\n";
  }
  data.resize(size);
  return data;
}

// The sha256 of a file, read in pieces ("" when it cannot be opened).
std::string file_sha256(const std::filesystem::path& path) {
  UniqueFd file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st {};
  if (!file || ::fstat(file.get(), &st) < 0) return "";
  return sha256_of_file(file.get(), 0, static_cast<uint64_t>(st.st_size));
}

// Resident memory of `pid` in KiB (/proc/PID/status).
size_t rss_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stoul(line.substr(6));
  return 0;
}

// 1 GiB of zeros as one zstd frame (some 32 KiB), made once.
const std::string& zstd_bomb() {
  static const std::string bomb = [] {
    std::unique_ptr<Compressor> compressor = make_compressor(Encoding::zstd);
    std::string zeros(1 << 20, '\0'), out;
    for (int i = 0; i < 1024; ++i) {
      compressor->compress(as_bytes(zeros), i == 1023, [&](std::span<const std::byte> piece) {
        out.append(reinterpret_cast<const char*>(piece.data()), piece.size());
      });
    }
    return out;
  }();
  return bomb;
}

// Starts a compressed put of `length` bytes on `raw` and sends its opening frame: the
// server's "ready" must accept `encoding`.
void open_compressed_put(RawClient& raw, uint64_t length, const std::string& encoding) {
  Frame ready = raw.ask({{"op", "put"},
                         {"name", "bomb.bin"},
                         {"length", length},
                         {"sha256", std::string(64, '0')},
                         {"encodings", {encoding}}});
  BOOST_REQUIRE_MESSAGE(ready.header.value("status", "") == "ready", ready.header.dump());
  BOOST_REQUIRE(ready.header.value("encoding", "") == encoding);
  write_frame(raw.stream, {{"encoding", encoding}, {"length", length}});
}

// The last frame the server sends before it closes: its "error" ("" if it sent another
// frame or none).
std::string last_error(RawClient& raw) {
  std::optional<Frame> frame = read_frame(raw.stream, {.max_body = 1 << 20});
  if (!frame) return "";
  std::string error = frame->header.value("error", "");
  BOOST_TEST(!read_frame(raw.stream, {.max_body = 1 << 20}), "the connection stayed open");
  return error;
}

// A fresh connection is served: the server survived whatever came before.
void check_still_serving(uint16_t port) {
  RawClient after(port);
  BOOST_TEST(after.ask({{"op", "list"}}).header["status"] == "ok");
}


ServerProcess start_cmd(const std::string& model, std::vector<std::string> extra) {
  std::vector<std::string> args{"--listen", "127.0.0.1:0", "--model", model};
  // cmd-server will not run clients' commands as root: the tests (root here) drop to nobody.
  if (::geteuid() == 0) args.insert(args.end(), {"--user", "nobody"});
  args.insert(args.end(), extra.begin(), extra.end());
  return ServerProcess("cmd-server", args);
}

std::string seq_output(int last) {
  std::string out;
  for (int i = 1; i <= last; ++i) out += std::to_string(i) + "\n";
  return out;
}

}  // namespace compression_test
using namespace compression_test;

BOOST_AUTO_TEST_SUITE(compression)

BOOST_DATA_TEST_CASE(get_and_put_64_mib_compressed,
                     bdata::make({"iterative", "fork", "thread", "epoll"}), model) {
  TempDir root, out;
  static const std::string data = log_text(64 << 20);
  static const std::string digest = sha256(data);
  root.write("big.log", data);
  out.write("up.log", data);
  ServerProcess server = start_files(root, model, {"--allow-upload"});
  RunResult get = run_program("file-client", {server.address(), "get", "big.log", "-o",
                                              (out.path / "big.log").string(), "--compress"});
  BOOST_TEST(get.exit_code == 0, get.err);
  BOOST_TEST(file_sha256(out.path / "big.log") == digest);
  // 256 chunks of 256 KiB, every one compressed; the client says so on stderr.
  BOOST_TEST(get.err.find("received 67108864 bytes as ") != std::string::npos, get.err);
  BOOST_TEST(get.err.find("(zstd; 256 of 256 chunks compressed)") != std::string::npos, get.err);
  RunResult put = run_program(
      "file-client",
      {server.address(), "put", (out.path / "up.log").string(), "up.log", "--compress"});
  BOOST_TEST(put.exit_code == 0, put.err);
  BOOST_TEST(put.err.find("(zstd; 256 of 256 chunks compressed)") != std::string::npos, put.err);
  BOOST_TEST(file_sha256(root.path / "up.log") == digest);
  BOOST_TEST(server.wait_for_log("put up.log (67108864 bytes, received: 67108864 bytes as "));
}

BOOST_AUTO_TEST_CASE(gzip_when_only_gzip_is_offered) {
  TempDir root, out;
  std::string data = log_text(5 << 20);
  root.write("g.log", data);
  out.write("up.log", data);
  ServerProcess server = start_files(root, "prethread", {"--allow-upload"});
  RunResult get =
      run_program("file-client", {server.address(), "get", "g.log", "-o",
                                  (out.path / "g.log").string(), "--encodings", "gzip"});
  BOOST_TEST(get.exit_code == 0, get.err);
  BOOST_TEST(get.err.find("(gzip; 20 of 20 chunks compressed)") != std::string::npos, get.err);
  BOOST_TEST((out.read("g.log") == data));
  RunResult put = run_program(
      "file-client",
      {server.address(), "put", (out.path / "up.log").string(), "--encodings", "gzip,zstd"});
  BOOST_TEST(put.exit_code == 0, put.err);
  BOOST_TEST(put.err.find("(gzip; 20 of 20 chunks compressed)") != std::string::npos, put.err);
  BOOST_TEST((root.read("up.log") == data));
}

BOOST_AUTO_TEST_CASE(an_old_client_sees_exactly_what_it_saw_before) {
  TempDir root, out;
  std::string data = log_text(100'000);
  root.write("a.log", data);
  ServerProcess server = start_files(root, "epoll");
  RawClient raw(server.port());
  // No "encodings" in the request: a plain reply, header and body as before issue 11.
  Frame plain = raw.ask({{"op", "get"}, {"name", "a.log"}});
  Json expected{{"status", "ok"},
                {"total", 100'000},
                {"offset", 0},
                {"sha256", sha256(data)},
                {"size", 100'000}};
  BOOST_TEST(plain.header.dump() == expected.dump());
  BOOST_TEST((plain.body == data));
  // The same connection, offering: the reply announces zstd and its original length.
  write_frame(raw.stream, {{"op", "get"}, {"name", "a.log"}, {"encodings", offered_encodings()}});
  std::optional<FrameHeader> head = read_frame_header(raw.stream, {});
  BOOST_REQUIRE(head);
  BOOST_TEST(head->header["encoding"] == "zstd");
  BOOST_TEST(head->header["length"] == 100'000);
  BOOST_TEST(!head->header.contains("size"));
  std::string body;
  read_compressed_body(raw.stream, Encoding::zstd, 100'000, [&](std::span<const std::byte> c) {
    body.append(reinterpret_cast<const char*>(c.data()), c.size());
  });
  BOOST_TEST((body == data));
  // file-client without --compress: as before, and nothing about compression on stderr.
  RunResult get = run_program("file-client",
                              {server.address(), "get", "a.log", "-o", (out.path / "a").string()});
  BOOST_TEST(get.exit_code == 0, get.err);
  BOOST_TEST(get.err == "");
  BOOST_TEST((out.read("a") == data));
}

BOOST_AUTO_TEST_CASE(already_compressed_data_is_sent_plain) {
  TempDir root, out;
  std::string noise = random_bytes(4 << 20, 11);  // as a .gz or a JPEG would be
  root.write("noise.bin", noise);
  out.write("noise-up.bin", noise);
  ServerProcess server = start_files(root, "thread", {"--allow-upload"});
  RunResult get = run_program("file-client", {server.address(), "get", "noise.bin", "-o",
                                              (out.path / "noise.bin").string(), "--compress"});
  BOOST_TEST(get.exit_code == 0, get.err);
  BOOST_TEST((out.read("noise.bin") == noise));
  BOOST_TEST(get.err.find("received 4194304 bytes as 4194304 (zstd; 0 of 16 chunks compressed)") !=
                 std::string::npos,
             get.err);
  RunResult put = run_program(
      "file-client", {server.address(), "put", (out.path / "noise-up.bin").string(), "--compress"});
  BOOST_TEST(put.exit_code == 0, put.err);
  BOOST_TEST(put.err.find("0 of 16 chunks compressed") != std::string::npos, put.err);
  BOOST_TEST((root.read("noise-up.bin") == noise));
  BOOST_TEST(server.wait_for_log("sent noise.bin: 4194304 bytes as 4194304"));
}

BOOST_AUTO_TEST_CASE(a_resumed_get_may_be_compressed) {
  TempDir root, out;
  std::string data = log_text(3 << 20);
  root.write("r.log", data);
  out.write("r.log.part", data.substr(0, 1'000'003));  // offsets count original bytes
  ServerProcess server = start_files(root, "epoll");
  RunResult get =
      run_program("file-client", {server.address(), "get", "r.log", "-o",
                                  (out.path / "r.log").string(), "--continue", "--compress"});
  BOOST_TEST(get.exit_code == 0, get.err);
  BOOST_TEST(
      get.err.find("received " + std::to_string(data.size() - 1'000'003)) != std::string::npos,
      get.err);
  BOOST_TEST((out.read("r.log") == data));
  BOOST_TEST(server.wait_for_log("get r.log from 1000003 (2145725 bytes, zstd)"));
}

BOOST_DATA_TEST_CASE(a_zstd_bomb_upload_is_refused_with_memory_flat,
                     bdata::make({"thread", "epoll"}), model) {
  TempDir root;
  ServerProcess server = start_files(root, model, {"--allow-upload", "--max-upload", "67108864"});
  check_still_serving(server.port());  // warm: the baseline includes a served connection
  size_t baseline = rss_kib(server.pid());
  // Declared whole: 1 GiB is over --max-upload, refused before "ready".
  {
    RawClient raw(server.port());
    Frame refused = raw.ask({{"op", "put"},
                             {"name", "bomb.bin"},
                             {"length", uint64_t{1} << 30},
                             {"sha256", std::string(64, '0')},
                             {"encodings", {"zstd"}}});
    BOOST_TEST(refused.header["error"] == "too large");
  }
  // One chunk that claims 256 KiB and expands to 1 GiB: stopped at 256 KiB.
  {
    RawClient raw(server.port());
    open_compressed_put(raw, 32 << 20, "zstd");
    write_frame(raw.stream, {{"encoding", "zstd"}, {"length", kChunkSize}}, as_bytes(zstd_bomb()));
    BOOST_TEST(last_error(raw) ==
               "protocol error: zstd data decompresses to more than 262144 bytes");
  }
  // One chunk that claims the whole 1 GiB: refused from its header.
  {
    RawClient raw(server.port());
    open_compressed_put(raw, 32 << 20, "zstd");
    write_frame(raw.stream, {{"encoding", "zstd"}, {"length", uint64_t{1} << 30}},
                as_bytes(zstd_bomb()));
    BOOST_TEST(last_error(raw).find("chunk of 1073741824 bytes, limit 262144") !=
               std::string::npos);
  }
  size_t after = rss_kib(server.pid());
  BOOST_TEST(after < baseline + 32 * 1024,
             "RSS from " << baseline << " KiB to " << after << " KiB");
  BOOST_TEST(server.wait_for_log("decompresses to more than 262144 bytes"));
  check_still_serving(server.port());
  BOOST_TEST(root_names(root.path).empty());  // nothing stored, nothing left staged
}

BOOST_AUTO_TEST_CASE(file_client_stops_a_bomb_from_a_hostile_server) {
  TempDir out;
  // A hostile file server, this test itself: a get reply announcing 1 GiB in zstd whose first
  // chunk claims 256 KiB and expands to the whole 1 GiB.
  Listener listener = open_listener(parse_endpoint("127.0.0.1:0"), {});
  auto hostile = std::async(std::launch::async, [&]() -> std::string {
    pollfd ready{.fd = listener.fd(), .events = POLLIN, .revents = 0};
    if (::poll(&ready, 1, 20000) != 1) return "no client came";
    UniqueFd client(::accept4(listener.fd(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!client) return "accept failed";
    set_nonblocking(client.get(), true);
    FdStream stream(client.get(), 20000ms);
    std::optional<FrameHeader> request = read_frame_header(stream, {});
    if (!request) return "no request";
    write_frame(stream, {{"status", "ok"},
                         {"total", uint64_t{1} << 30},
                         {"offset", 0},
                         {"sha256", std::string(64, '0')},
                         {"encoding", "zstd"},
                         {"length", uint64_t{1} << 30}});
    write_frame(stream, {{"encoding", "zstd"}, {"length", kChunkSize}}, as_bytes(zstd_bomb()));
    read_to_eof(client.get(), 20000ms);  // until the client gives up
    return request->header.dump();
  });
  std::string address = "127.0.0.1:" + std::to_string(listener.local().port());
  RunResult get = run_program(
      "file-client", {address, "get", "zeros", "-o", (out.path / "zeros").string(), "--compress"});
  BOOST_TEST(hostile.get().find("\"encodings\":[\"zstd\",\"gzip\"]") != std::string::npos);
  BOOST_TEST(get.exit_code != 0);
  BOOST_TEST(get.err.find("zstd data decompresses to more than 262144 bytes") != std::string::npos,
             get.err);
  BOOST_TEST(!std::filesystem::exists(out.path / "zeros"));
  BOOST_TEST(std::filesystem::file_size(out.path / "zeros.part") == 0u);  // nothing kept
}

// The disk fills while a compressed body arrives: the error frame comes at once, the rest of
// the body is read (and decompressed) into nothing, and the connection stays in step.
BOOST_TEST_DECORATOR(*boost::unit_test::precondition(can_mount))
BOOST_DATA_TEST_CASE(a_disk_that_fills_during_a_compressed_upload_gets_an_error_frame,
                     bdata::make({"iterative", "epoll"}), model) {
  SmallDisk disk;
  std::filesystem::create_directory(disk.dir.path / "root");
  ServerProcess server = start_files((disk.dir.path / "root").string(), model, {"--allow-upload"});
  RawClient raw(server.port());
  std::string body = log_text(600'000);
  Frame ready = raw.ask({{"op", "put"},
                         {"name", "up.log"},
                         {"length", body.size()},
                         {"sha256", sha256(body)},
                         {"encodings", {"zstd"}}});
  BOOST_REQUIRE(ready.header["encoding"] == "zstd");
  disk.dir.write("filler", random_bytes(700'000, 13));
  BodyStats sent = send_compressed_body(raw.stream, client_io(), Json::object(), Encoding::zstd,
                                        body.size(), memory_reader(body));
  BOOST_TEST(sent.compressed_chunks == 3u);
  Frame reply = raw.reply();
  BOOST_TEST(reply.header.value("error", "") == "cannot store: No space left on device (ENOSPC)");
  BOOST_TEST(raw.ask({{"op", "list"}}).body == "[]", "nothing stored, connection in step");
}

BOOST_DATA_TEST_CASE(a_corrupt_compressed_body_is_an_error_frame,
                     bdata::make({"iterative", "epoll"}) * bdata::make({"zstd", "gzip"}), model,
                     encoding) {
  TempDir root;
  ServerProcess server = start_files(root, model, {"--allow-upload"});
  std::string good = log_text(100'000), packed;
  make_compressor(*encoding_named(encoding))
      ->compress(as_bytes(good), true, [&](std::span<const std::byte> piece) {
        packed.append(reinterpret_cast<const char*>(piece.data()), piece.size());
      });
  for (size_t i = 20; i < 60; ++i) packed[i] = static_cast<char>(packed[i] ^ 0xa5);
  RawClient raw(server.port());
  open_compressed_put(raw, good.size(), encoding);
  write_frame(raw.stream, {{"encoding", encoding}, {"length", good.size()}}, as_bytes(packed));
  std::string error = last_error(raw);
  BOOST_TEST(error.rfind("protocol error: " + std::string(encoding) + ": ", 0) == 0, error);
  BOOST_TEST(server.running());
  check_still_serving(server.port());
  BOOST_TEST(root_names(root.path).empty());
}

BOOST_DATA_TEST_CASE(cmd_output_is_compressed_when_offered, bdata::make({"fork", "epoll"}), model) {
  ServerProcess server = start_cmd(model, {"--allow-args", "seq [0-9]+"});
  RunResult run =
      run_program("cmd-client", {server.address(), "--compress", "--", "seq", "100000"});
  BOOST_TEST(run.exit_code == 0, run.err);
  BOOST_TEST((run.out == seq_output(100000)));
  BOOST_TEST(server.wait_for_log("output sent: 588895 bytes as "));
  // A raw request offering gzip only; and one offering nothing gets today's plain reply.
  RawClient raw(server.port());
  write_frame(raw.stream, {{"argv", {"seq", "5000"}}, {"encodings", {"gzip"}}});
  std::optional<FrameHeader> head = read_frame_header(raw.stream, {});
  BOOST_REQUIRE(head);
  BOOST_TEST(head->header["encoding"] == "gzip");
  std::string body;
  read_compressed_body(raw.stream, Encoding::gzip, announced_length(head->header, 1 << 20),
                       [&](std::span<const std::byte> c) {
                         body.append(reinterpret_cast<const char*>(c.data()), c.size());
                       });
  BOOST_TEST((body == seq_output(5000)));
  Frame plain = raw.ask({{"argv", {"seq", "5000"}}});
  BOOST_TEST(!plain.header.contains("encoding"));
  BOOST_TEST((plain.body == seq_output(5000)));
}

BOOST_AUTO_TEST_SUITE_END()
