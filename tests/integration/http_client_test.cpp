// http-client against real HTTP peers on loopback: Python's http.server serving a directory,
// and tests/integration/http_peer.py (Python's standard library too) for chunked bodies with
// trailers, bodies ended by the close, form echoes, redirect chains and broken responses.
// Every peer is started by PID and ended by PID (Spawned).
#include <netinet/in.h>
#include <sys/socket.h>
#include <sysexits.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>

#include "harness.hpp"
#include "peers.hpp"
#include "sha256.hpp"

using namespace sockserv;
using namespace sockserv::test;
using Json = nlohmann::json;

namespace {

constexpr const char* kPython = "/usr/bin/python3";  // Debian's, as scripts/install-deps installs
constexpr int kExitHttpError = 22;

// A Python peer and the port it printed ("... port N ...") once listening.
struct PythonPeer {
  PythonPeer(std::vector<std::string> argv) : process(std::move(argv)) {
    static const std::regex kPort(R"(port (\d+))");
    bool up = eventually(
        [&] {
          // The match points into `log`: read the port before `log` goes away.
          std::string log = process.log();
          std::smatch match;
          if (!std::regex_search(log, match, kPort)) return false;
          port = static_cast<uint16_t>(std::stoi(match[1]));
          return true;
        },
        10000ms);
    BOOST_TEST_REQUIRE(up, "the Python peer did not start: " << process.log());
  }
  std::string url(const std::string& path, const std::string& host = "127.0.0.1") const {
    return "http://" + host + ":" + std::to_string(port) + path;
  }
  Spawned process;
  uint16_t port = 0;
};

// Python's own http.server (-u: its "Serving HTTP on ... port N" line is not buffered).
std::unique_ptr<PythonPeer> python_http_server(const TempDir& dir, const std::string& bind) {
  return std::make_unique<PythonPeer>(std::vector<std::string>{
      kPython, "-u", "-m", "http.server", "--bind", bind, "--directory", dir.path.string(), "0"});
}

std::unique_ptr<PythonPeer> http_peer(const TempDir& dir, const std::string& bind = "127.0.0.1") {
  return std::make_unique<PythonPeer>(std::vector<std::string>{
      kPython, "-u", source_dir() + "/tests/integration/http_peer.py", dir.path.string(), bind});
}

std::string sha256_text(const std::string& data) {
  Sha256 hash;
  hash.update(std::as_bytes(std::span(data.data(), data.size())));
  return hash.hex_digest();
}

RunResult run_http_client(std::vector<std::string> args, Millis timeout = 20000ms) {
  return run_program("http-client", args, "", timeout);
}

// What is left in `dir` but the names the test wrote: a .part file would show here.
std::vector<std::string> names_in(const TempDir& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path))
    names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

bool ipv6_loopback_configured() {
  UniqueFd probe(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in6 address{};
  address.sin6_family = AF_INET6;
  address.sin6_addr = in6addr_loopback;
  return probe && ::bind(probe.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(http_client)

BOOST_AUTO_TEST_CASE(saves_a_file_above_one_mib_from_python_http_server_byte_for_byte) {
  TempDir served("http-served"), saved("http-saved");
  std::string data = random_bytes(3 * 1024 * 1024 + 17, 7);
  served.write("big.bin", data);
  auto server = python_http_server(served, "127.0.0.1");
  std::string target = (saved.path / "copy.bin").string();
  RunResult r = run_http_client({"-o", target, server->url("/big.bin")});
  BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
  BOOST_TEST(r.out.empty());
  std::string copy = saved.read("copy.bin");
  BOOST_TEST(copy.size() == data.size());
  BOOST_TEST(sha256_text(copy) == sha256_text(data));
  BOOST_TEST(names_in(saved) == std::vector<std::string>{"copy.bin"});  // no part file left
  BOOST_TEST(r.err.empty(), r.err);  // no progress bar when stderr is not a terminal
  // And to stdout, the same bytes.
  RunResult out = run_http_client({server->url("/big.bin")});
  BOOST_TEST(out.exit_code == 0, out.err);
  BOOST_TEST(sha256_text(out.out) == sha256_text(data));
}

// script(1) gives http-client a terminal (a pty) as stdin, stdout and stderr.
BOOST_AUTO_TEST_CASE(a_progress_bar_shows_on_a_terminal_above_one_mib_only) {
  TempDir served("http-served"), saved("http-saved");
  served.write("big.bin", random_bytes(2 * 1024 * 1024, 5));
  served.write("small.bin", random_bytes(1024 * 1024, 6));
  auto server = python_http_server(served, "127.0.0.1");
  for (const char* name : {"big.bin", "small.bin"}) {
    std::string command = bin_path("http-client") + " -o " + (saved.path / name).string() + " " +
                          server->url(std::string("/") + name);
    Spawned terminal({"script", "-qec", command, "/dev/null"});
    int status = terminal.wait_exit(20000ms);
    if (status != 0 && terminal.log().find("pseudo-terminal") != std::string::npos) {
      BOOST_TEST_MESSAGE("skipped: no pseudo-terminal here: " << terminal.log());
      return;
    }
    BOOST_TEST_REQUIRE(status == 0, terminal.log());
    BOOST_TEST((saved.read(name) == served.read(name)));
    bool bar = terminal.log().find("100% 2.0/2.0 MiB") != std::string::npos;
    BOOST_TEST(bar == (std::string(name) == "big.bin"), name << ": " << terminal.log());
  }
}

BOOST_AUTO_TEST_CASE(a_chunked_body_with_extensions_and_trailers_arrives_whole) {
  TempDir served("http-served");
  for (size_t size : {size_t{0}, size_t{1}, size_t{5000}, size_t{1536 * 1024}}) {
    std::string name = "f" + std::to_string(size);
    served.write(name, random_bytes(size, static_cast<unsigned>(size)));
  }
  auto peer = http_peer(served);
  for (size_t size : {size_t{0}, size_t{1}, size_t{5000}, size_t{1536 * 1024}}) {
    std::string name = "f" + std::to_string(size);
    RunResult r = run_http_client({peer->url("/chunked/" + name)});
    BOOST_TEST(r.exit_code == 0, name << ": " << r.err);
    BOOST_TEST(r.out.size() == size);
    BOOST_TEST((r.out == served.read(name)), name << ": the bytes differ");
  }
  TempDir saved("http-saved");
  RunResult to_file =
      run_http_client({"-o", (saved.path / "c").string(), peer->url("/chunked/f1572864")});
  BOOST_TEST(to_file.exit_code == 0, to_file.err);
  BOOST_TEST((saved.read("c") == served.read("f1572864")));
}

BOOST_AUTO_TEST_CASE(a_body_ended_by_the_close_arrives_whole) {
  TempDir served("http-served");
  std::string data = random_bytes(1024 * 1024 + 3, 11);
  served.write("close.bin", data);
  auto peer = http_peer(served);
  RunResult r = run_http_client({"-i", peer->url("/close/close.bin")});
  BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
  std::string head = "HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n";
  BOOST_TEST(r.out.substr(0, head.size()) == head);
  BOOST_TEST((r.out.substr(head.size()) == data), "the body differs");
}

// Defect this guards against: a body cut short by the server's close passed for a whole one.
BOOST_AUTO_TEST_CASE(a_truncated_body_exits_non_zero_and_leaves_no_file) {
  TempDir served("http-served"), saved("http-saved");
  served.write("t.bin", random_bytes(200 * 1024, 3));
  saved.write("t.bin", "the old file");
  auto peer = http_peer(served);
  for (const char* route : {"/truncated/t.bin", "/chunk-cut/t.bin"}) {
    RunResult r = run_http_client({"-o", (saved.path / "t.bin").string(), peer->url(route)});
    BOOST_TEST(r.exit_code == EX_PROTOCOL, route << ": " << r.exit_code << " " << r.err);
    BOOST_TEST(r.err.find("closed the connection") != std::string::npos, r.err);
    BOOST_TEST(saved.read("t.bin") == "the old file");  // untouched
    BOOST_TEST(names_in(saved) == std::vector<std::string>{"t.bin"});
    RunResult to_stdout = run_http_client({peer->url(route)});
    BOOST_TEST(to_stdout.exit_code == EX_PROTOCOL, route << ": " << to_stdout.err);
  }
  RunResult r = run_http_client({peer->url("/truncated/t.bin")});
  BOOST_TEST(r.err.find("after 102400 of 204800 body bytes") != std::string::npos, r.err);
}

BOOST_AUTO_TEST_CASE(a_form_post_arrives_decoded_at_a_python_server) {
  TempDir served("http-served");
  auto peer = http_peer(served);
  // -d goes as given (already encoded, raw UTF-8 allowed); -F is encoded by the client.
  RunResult r = run_http_client({"-d", "pre=a%26b%3Dc%2Bd&city=Z%C3%BCrich", "-d", "raw=张三", "-F",
                                 "msg=您的验证码是:147258 & a=b+c", "-F", "empty=", "-F",
                                 "sym=%~*'()!", "-H", "X-Test: yes", peer->url("/echo")});
  BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
  Json echo = Json::parse(r.out);
  BOOST_TEST(echo["method"] == "POST");
  BOOST_TEST(echo["content_type"] == "application/x-www-form-urlencoded");
  BOOST_TEST(echo["x_test"] == "yes");
  const Json& form = echo["form"];
  BOOST_TEST(form["pre"][0] == "a&b=c+d");
  BOOST_TEST(form["city"][0] == "Zürich");
  BOOST_TEST(form["raw"][0] == "张三");
  BOOST_TEST(form["msg"][0] == "您的验证码是:147258 & a=b+c");
  BOOST_TEST(form["empty"][0] == "");
  BOOST_TEST(form["sym"][0] == "%~*'()!");
  BOOST_TEST(form.size() == 6u);
}

BOOST_AUTO_TEST_CASE(headers_are_added_replaced_and_dropped_and_bad_ones_refused) {
  TempDir served("http-served");
  auto peer = http_peer(served);
  RunResult r = run_http_client({"-H", "Accept:", "-H", "User-Agent: lab/1", peer->url("/echo")});
  BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
  Json echo = Json::parse(r.out);
  BOOST_TEST(echo["method"] == "GET");
  BOOST_TEST(echo["accept"].is_null());
  BOOST_TEST(echo["user_agent"] == "lab/1");
  // A header with a line break would inject another field: refused before connecting.
  for (const char* bad : {"X-A: b\r\nX-Injected: 1", "No colon", "Bad Name: x", "Content-Length: 5",
                          "Transfer-Encoding: chunked"}) {
    RunResult refused = run_http_client({"-H", bad, peer->url("/echo")});
    BOOST_TEST(refused.exit_code == EX_USAGE, bad << ": " << refused.exit_code << refused.err);
  }
}

BOOST_AUTO_TEST_CASE(redirects_relative_and_absolute_are_followed_up_to_ten) {
  TempDir served("http-served");
  auto peer = http_peer(served);
  // /r/10 takes exactly ten redirects, alternately "../r/N?via=rel" and an absolute URL.
  RunResult r = run_http_client({"-L", peer->url("/r/10")});
  BOOST_TEST(r.exit_code == 0, r.err);
  BOOST_TEST(r.out == "arrived");
  // With -i, each response of the chain is shown, the redirects' heads included.
  RunResult shown = run_http_client({"-L", "-i", peer->url("/r/2")});
  BOOST_TEST(shown.exit_code == 0, shown.err);
  BOOST_TEST(shown.out.find("Location: http://127.0.0.1:" + std::to_string(peer->port) + "/r/1") !=
             std::string::npos);
  BOOST_TEST(shown.out.find("Location: ../r/0?via=rel") != std::string::npos, shown.out);
  // Without -L the redirect itself is the answer.
  RunResult not_followed = run_http_client({peer->url("/r/1")});
  BOOST_TEST(not_followed.exit_code == 0, not_followed.err);
  BOOST_TEST(not_followed.out == "moved");
}

BOOST_AUTO_TEST_CASE(a_redirect_loop_stops_after_ten_with_a_clear_error) {
  TempDir served("http-served");
  auto peer = http_peer(served);
  RunResult r = run_http_client({"-L", peer->url("/loop/0")});
  BOOST_TEST(r.exit_code == EX_PROTOCOL, r.exit_code << " " << r.err);
  BOOST_TEST(r.err.find("more than 10 redirects") != std::string::npos, r.err);
  // The first request and ten redirects followed: /loop/0 .. /loop/10, and no more.
  Json hits = Json::parse(run_http_client({peer->url("/hits")}).out);
  BOOST_TEST(hits.value("/loop/10", 0) == 1);
  BOOST_TEST(hits.count("/loop/11") == 0u);
  RunResult eleven = run_http_client({"-L", peer->url("/r/11")});
  BOOST_TEST(eleven.exit_code == EX_PROTOCOL, eleven.err);
}

BOOST_AUTO_TEST_CASE(post_turns_into_get_after_303_301_302_but_not_after_307_308) {
  TempDir served("http-served");
  auto peer = http_peer(served);
  for (int code : {301, 302, 303, 307, 308}) {
    RunResult r = run_http_client({"-L", "-F", "k=v", peer->url("/see/" + std::to_string(code))});
    BOOST_TEST_REQUIRE(r.exit_code == 0, code << ": " << r.err);
    Json echo = Json::parse(r.out);
    bool kept = code == 307 || code == 308;
    BOOST_TEST(echo["method"] == (kept ? "POST" : "GET"), code);
    BOOST_TEST(echo["form"].size() == (kept ? 1u : 0u), code);
  }
  // A redirect to a scheme http-client does not speak: a clear message, 69.
  RunResult ftp = run_http_client({"-L", peer->url("/ftp")});
  BOOST_TEST(ftp.exit_code == EX_UNAVAILABLE, ftp.err);
  BOOST_TEST(ftp.err.find("ftp://") != std::string::npos, ftp.err);
}

BOOST_AUTO_TEST_CASE(fail_flag_exits_22_on_404_and_500_without_the_body) {
  TempDir served("http-served");
  auto peer = http_peer(served);
  for (const char* code : {"404", "500"}) {
    RunResult failed = run_http_client({"-f", peer->url(std::string("/status/") + code)});
    BOOST_TEST(failed.exit_code == kExitHttpError, code << ": " << failed.err);
    BOOST_TEST(failed.out.empty());
    BOOST_TEST(failed.err.find(std::string("HTTP ") + code) != std::string::npos, failed.err);
    RunResult plain = run_http_client({peer->url(std::string("/status/") + code)});
    BOOST_TEST(plain.exit_code == 0, plain.err);
    BOOST_TEST(plain.out == std::string("status body ") + code + "\n");
  }
  BOOST_TEST(run_http_client({"-f", peer->url("/status/200")}).exit_code == 0);
}

BOOST_AUTO_TEST_CASE(head_and_include_print_the_response_head) {
  TempDir served("http-served");
  served.write("page.txt", "hello, page\n");
  auto server = python_http_server(served, "127.0.0.1");
  RunResult head = run_http_client({"-I", server->url("/page.txt")});
  BOOST_TEST_REQUIRE(head.exit_code == 0, head.err);
  BOOST_TEST(head.out.rfind("HTTP/1.0 200 OK\r\n", 0) == 0, head.out);
  BOOST_TEST(head.out.find("Content-Length: 12\r\n") != std::string::npos, head.out);
  BOOST_TEST(head.out.size() >= 4u);
  BOOST_TEST(head.out.substr(head.out.size() - 4) == "\r\n\r\n");  // a HEAD has no body
  RunResult with_body = run_http_client({"-i", server->url("/page.txt")});
  BOOST_TEST(with_body.exit_code == 0, with_body.err);
  BOOST_TEST(with_body.out.rfind("HTTP/1.0 200 OK\r\n", 0) == 0);
  BOOST_TEST(with_body.out.size() > 4u);
  BOOST_TEST(with_body.out.substr(with_body.out.size() - 16) == "\r\n\r\nhello, page\n");
  // An interim response (103) is shown with -i and skipped on the way to the final one.
  TempDir empty("http-served");
  auto peer = http_peer(empty);
  RunResult hints = run_http_client({"-i", peer->url("/early-hints")});
  BOOST_TEST(hints.exit_code == 0, hints.err);
  BOOST_TEST(hints.out ==
             "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
             "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  BOOST_TEST(run_http_client({peer->url("/early-hints")}).out == "ok");
}

BOOST_AUTO_TEST_CASE(an_ipv6_literal_url_reaches_a_server_on_ipv6_loopback) {
  if (!ipv6_loopback_configured()) {
    BOOST_TEST_MESSAGE("skipped: ::1 is not configured on this machine");
    return;
  }
  TempDir served("http-served");
  served.write("six.txt", "over IPv6\n");
  auto server = python_http_server(served, "::1");
  RunResult r = run_http_client({server->url("/six.txt", "[::1]")});
  BOOST_TEST(r.exit_code == 0, r.err);
  BOOST_TEST(r.out == "over IPv6\n");
  auto peer = http_peer(served, "::1");
  RunResult chunked = run_http_client({"-L", peer->url("/chunked/six.txt", "[::1]")});
  BOOST_TEST(chunked.exit_code == 0, chunked.err);
  BOOST_TEST(chunked.out == "over IPv6\n");
}

// A name, resolved with getaddrinfo. Where "localhost" names ::1 too (nothing listens there
// in this test), that address is refused and the next one tried.
BOOST_AUTO_TEST_CASE(a_host_name_is_resolved_and_each_of_its_addresses_tried) {
  TempDir served("http-served");
  served.write("name.txt", "by name\n");
  auto server = python_http_server(served, "127.0.0.1");
  RunResult r = run_http_client({server->url("/name.txt", "localhost")});
  BOOST_TEST(r.exit_code == 0, r.err);
  BOOST_TEST(r.out == "by name\n");
}

BOOST_AUTO_TEST_CASE(a_server_that_never_answers_hits_the_timeout) {
  TempDir served("http-served");
  auto peer = http_peer(served);
  auto start = Clock::now();
  RunResult r = run_http_client({"--timeout", "1", peer->url("/silent")});
  BOOST_TEST(r.exit_code == EX_TEMPFAIL, r.exit_code << " " << r.err);
  BOOST_TEST(r.err.find("--timeout") != std::string::npos, r.err);
  BOOST_TEST((Clock::now() - start < 15000ms));  // a generous bound: it gave up, not hung
}

BOOST_AUTO_TEST_CASE(malformed_responses_are_refused_clearly) {
  TempDir served("http-served");
  auto peer = http_peer(served);
  RunResult huge = run_http_client({peer->url("/huge-head")});
  BOOST_TEST(huge.exit_code == EX_PROTOCOL, huge.err);
  BOOST_TEST(huge.err.find("larger than 64 KiB") != std::string::npos, huge.err);
  BOOST_TEST(huge.out.empty());
  RunResult overflow = run_http_client({peer->url("/chunk-overflow")});
  BOOST_TEST(overflow.exit_code == EX_PROTOCOL, overflow.err);
  BOOST_TEST(overflow.err.find("overflows") != std::string::npos, overflow.err);
}

BOOST_AUTO_TEST_CASE(bad_urls_are_usage_errors_before_any_connection) {
  for (const char* bad : {"ftp://127.0.0.1/", "http://", "http://a b/", "http://[::1/",
                          "http://[not-v6]/", "http://host:99999/", "http://user:pw@127.0.0.1/"}) {
    RunResult r = run_http_client({bad});
    BOOST_TEST(r.exit_code == EX_USAGE, bad << ": " << r.exit_code << " " << r.err);
  }
  // TLS options with nothing to apply them to are not usage errors (a redirect may go to
  // https://), but --cert without --key is.
  BOOST_TEST(run_http_client({"--cert", "c.pem", "http://127.0.0.1:1/"}).exit_code == EX_USAGE);
  RunResult refused = run_http_client({"http://127.0.0.1:1/"});
  BOOST_TEST(refused.exit_code == EX_UNAVAILABLE, refused.err);
  BOOST_TEST(run_http_client({"-I", "-d", "x", "http://127.0.0.1:1/"}).exit_code == EX_USAGE);
  // The -o file is created before connecting: a path that cannot be written fails first.
  RunResult cannot = run_http_client({"-o", "/nonexistent-dir/x", "http://127.0.0.1:1/"});
  BOOST_TEST(cannot.exit_code == EX_CANTCREAT, cannot.err);
}

BOOST_AUTO_TEST_SUITE_END()
