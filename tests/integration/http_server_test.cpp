// http-server against real peers: curl, Python's http.client (as the tutorial writes it), wrk
// and raw sockets, under every model: keep-alive, pipelining, HEAD, 304, 206, 416, 404, 301,
// gzip, the traversal corpus, the head limits (414, 431), a slow client (408), 400, 413,
// 501, 505, and the Common Log Format access log with its SIGHUP reopen.
#include <algorithm>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "harness.hpp"
#include "socket.hpp"
#include "traversal_corpus.hpp"

namespace bdata = boost::unit_test::data;
namespace fs = std::filesystem;

namespace http_test {

using namespace sockserv;
using namespace sockserv::test;

const auto kModels = bdata::make(all_models());

ServerProcess start_http(const std::string& model, std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"--listen", "127.0.0.1:0", "--model", model};
  std::vector<std::string> room = room_for(model, 4);
  args.insert(args.end(), room.begin(), room.end());
  args.insert(args.end(), extra.begin(), extra.end());
  return ServerProcess("http-server", args);
}

RunResult curl(std::vector<std::string> args) {
  args.insert(args.begin(), {"-sS", "--max-time", "20"});
  return run_program("/usr/bin/curl", args);
}

std::string url(const ServerProcess& server, const std::string& path) {
  return "http://" + server.address() + path;
}

// One response as read from a raw socket.
struct Response {
  int status = 0;
  std::string head;  // status line and fields, up to the blank line
  std::string body;
  std::string field(const std::string& name) const {  // "" when absent (name as sent)
    std::smatch m;
    if (std::regex_search(head, m, std::regex("\r\n" + name + ": ([^\r]*)\r\n", std::regex::icase)))
      return m[1];
    return "";
  }
};

// Splits the responses in `bytes` (Content-Length bodies; none for HEAD and 304, as
// `no_body[i]` says for the i-th). Stops at the first incomplete one.
std::vector<Response> split_responses(std::string_view bytes, std::vector<bool> no_body = {}) {
  std::vector<Response> out;
  while (!bytes.empty()) {
    size_t end = bytes.find("\r\n\r\n");
    if (end == std::string_view::npos) break;
    Response r;
    r.head = std::string(bytes.substr(0, end + 2));
    r.status = std::atoi(r.head.substr(9, 3).c_str());
    bytes.remove_prefix(end + 4);
    size_t length = r.field("Content-Length").empty() ? 0 : std::stoul(r.field("Content-Length"));
    bool skip = r.status == 304 || (out.size() < no_body.size() && no_body[out.size()]);
    if (!skip) {
      if (bytes.size() < length) break;
      r.body = std::string(bytes.substr(0, length));
      bytes.remove_prefix(length);
    }
    out.push_back(std::move(r));
  }
  return out;
}

// Sends `request` whole, half-closes, and returns the one answer (the connection must close).
Response ask(uint16_t port, const std::string& request) {
  std::vector<Response> all =
      split_responses(exchange(port, request, 20000ms), {request.starts_with("HEAD ")});
  BOOST_REQUIRE_EQUAL(all.size(), 1u);
  return all.front();
}

std::string get(const std::string& path, const std::string& extra = "") {
  return "GET " + path + " HTTP/1.1\r\nHost: localhost\r\n" + extra + "\r\n";
}

// Python's http.client, as the tutorial uses it: one HTTPConnection, requests one after the
// other on it; prints "status length" per answer and the peer port of each (same = reused).
const char* kPythonClient = R"(
import http.client, sys
conn = http.client.HTTPConnection('127.0.0.1', port=int(sys.argv[1]), timeout=30)
for method, path in (('GET', '/'), ('HEAD', '/'), ('GET', '/missing'), ('GET', '/')):
    conn.request(method, path, headers={'Accept': 'text/html'})
    response = conn.getresponse()
    body = response.read()
    print(response.status, len(body), conn.sock.getsockname()[1], body.decode('utf-8')[:40].replace('\n', ' '))
conn.close()
)";

}  // namespace http_test
using namespace http_test;

BOOST_AUTO_TEST_SUITE(http_server)

BOOST_DATA_TEST_CASE(hello_page_by_curl_and_python_on_one_kept_connection, kModels, model) {
  TempDir logs;
  std::string log_path = (logs.path / "access.log").string();
  ServerProcess server = start_http(model, {"--access-log", log_path});
  // curl with two URLs reuses its connection when the server keeps it alive.
  RunResult c = curl({"-v", url(server, "/"), url(server, "/")});
  BOOST_TEST(c.exit_code == 0, c.err);
  BOOST_TEST(c.out.find("<h1>Hello World</h1>") != std::string::npos, c.out);
  BOOST_TEST(c.err.find("Re-using existing connection") != std::string::npos, c.err);
  BOOST_TEST(c.err.find("Connected to") == c.err.rfind("Connected to"),
             "one connection: " << c.err);
  RunResult py =
      run_program("/usr/bin/python3", {"-c", kPythonClient, std::to_string(server.port())});
  BOOST_TEST(py.exit_code == 0, py.err);
  std::istringstream lines(py.out);
  std::vector<std::string> status, ports;
  for (std::string s, len, port, rest; lines >> s >> len >> port && std::getline(lines, rest);) {
    status.push_back(s + " " + len);
    ports.push_back(port);
  }
  BOOST_REQUIRE_EQUAL(status.size(), 4u);
  BOOST_TEST((status[0].starts_with("200 ") && status[0] != "200 0"), py.out);
  BOOST_TEST(status[1] == "200 0", "HEAD has no body: " << py.out);
  BOOST_TEST(status[2].starts_with("404 "), py.out);
  BOOST_TEST(status[3] == status[0], py.out);
  BOOST_TEST((ports[0] == ports[1] && ports[1] == ports[2] && ports[2] == ports[3]),
             "one connection for all four: " << py.out);
  // One CLF line per request: 2 from curl, 4 from Python.
  std::regex clf(
      R"(^127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] "(GET|HEAD) /\S* HTTP/1\.1" \d{3} (\d+|-)$)");
  auto lines_of_log = [&] {
    std::vector<std::string> out;
    std::istringstream in(logs.read("access.log"));
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  };
  BOOST_TEST(eventually([&] { return lines_of_log().size() == 6; }), logs.read("access.log"));
  for (const std::string& line : lines_of_log()) BOOST_TEST(std::regex_match(line, clf), line);
  BOOST_TEST(logs.read("access.log").find("\"GET /missing HTTP/1.1\" 404 ") != std::string::npos);
  BOOST_TEST(server.stop() == 0);
}

BOOST_DATA_TEST_CASE(static_files_conditional_ranges_redirects_and_gzip, kModels, model) {
  TempDir root, out;
  std::string data = random_bytes(300'000, 7);
  root.write("data.bin", data);
  std::string text;
  for (int i = 0; i < 2000; ++i) text += "line " + std::to_string(i) + " of a text file\n";
  root.write("notes.txt", text);
  root.write("docs/index.html", "<p>docs index</p>\n");
  ServerProcess server = start_http(model, {"--root", root.path.string(), "--gzip"});
  uint16_t port = server.port();
  // Whole file with sendfile, byte for byte.
  RunResult whole =
      curl({"-o", (out.path / "d").string(), "-w", "%{http_code}", url(server, "/data.bin")});
  BOOST_TEST(whole.out == "200", whole.err);
  BOOST_TEST((out.read("d") == data));
  // HEAD: the same head, no body.
  Response head = ask(port, "HEAD /data.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  BOOST_TEST(head.status == 200);
  BOOST_TEST(head.field("Content-Length") == std::to_string(data.size()));
  BOOST_TEST(head.body.empty());
  std::string etag = head.field("ETag"), modified = head.field("Last-Modified");
  BOOST_TEST(head.field("Content-Type") == "application/octet-stream");
  // 304 by ETag and by date; a changed ETag gets the file.
  BOOST_TEST(
      ask(port, get("/data.bin", "If-None-Match: " + etag + "\r\nConnection: close\r\n")).status ==
      304);
  BOOST_TEST(
      ask(port, get("/data.bin", "If-Modified-Since: " + modified + "\r\nConnection: close\r\n"))
          .status == 304);
  BOOST_TEST(
      ask(port, get("/data.bin", "If-None-Match: \"other\"\r\nConnection: close\r\n")).status ==
      200);
  // One range: 206 with exactly those bytes; past the end: 416.
  RunResult part = curl({"-r", "1000-1999", "-w", "\n%{http_code}", url(server, "/data.bin")});
  BOOST_TEST(part.out == data.substr(1000, 1000) + "\n206");
  Response suffix = ask(port, get("/data.bin", "Range: bytes=-10\r\nConnection: close\r\n"));
  BOOST_TEST(suffix.status == 206);
  BOOST_TEST(suffix.body == data.substr(data.size() - 10));
  BOOST_TEST(suffix.field("Content-Range") == "bytes 299990-299999/300000");
  Response beyond = ask(port, get("/data.bin", "Range: bytes=400000-\r\nConnection: close\r\n"));
  BOOST_TEST(beyond.status == 416);
  BOOST_TEST(beyond.field("Content-Range") == "bytes */300000");
  // 404, and a directory: 301 to its name with a slash, then its index.html.
  BOOST_TEST(curl({"-o", "/dev/null", "-w", "%{http_code}", url(server, "/nope")}).out == "404");
  RunResult redirect = curl({"-D", "-", "-o", "/dev/null", url(server, "/docs")});
  BOOST_TEST(redirect.out.find("301 Moved Permanently") != std::string::npos, redirect.out);
  BOOST_TEST(redirect.out.find("Location: /docs/\r\n") != std::string::npos, redirect.out);
  BOOST_TEST(curl({"-L", url(server, "/docs")}).out == "<p>docs index</p>\n");
  // gzip: curl --compressed decodes to the file; the bytes on the wire are gzip; Vary is set.
  RunResult gz = curl({"--compressed", "-D", (out.path / "h").string(), url(server, "/notes.txt")});
  BOOST_TEST((gz.out == text));
  BOOST_TEST(out.read("h").find("Content-Encoding: gzip") != std::string::npos, out.read("h"));
  BOOST_TEST(out.read("h").find("Vary: Accept-Encoding") != std::string::npos, out.read("h"));
  Response raw = ask(port, get("/notes.txt", "Accept-Encoding: gzip\r\nConnection: close\r\n"));
  BOOST_TEST(raw.body.substr(0, 2) == "\x1f\x8b");
  BOOST_TEST(raw.body.size() < text.size() / 3);
  Response plain = ask(port, get("/notes.txt", "Connection: close\r\n"));
  BOOST_TEST(plain.field("Content-Encoding").empty());
  BOOST_TEST((plain.body == text));
  BOOST_TEST(server.stop() == 0);
}

BOOST_DATA_TEST_CASE(pipelined_requests_sent_in_one_write_are_answered_in_order, kModels, model) {
  TempDir root;
  root.write("a.txt", "first\n");
  root.write("b.txt", "second\n");
  root.write("c.txt", "third\n");
  ServerProcess server = start_http(model, {"--root", root.path.string()});
  std::string three = get("/a.txt") + "HEAD /b.txt HTTP/1.1\r\nHost: x\r\n\r\n" +
                      get("/c.txt", "Connection: close\r\n");
  UniqueFd fd = connect_tcp(server.port());
  write_all(fd.get(), three);  // one write: the three heads arrive together
  std::vector<Response> all = split_responses(read_to_eof(fd.get()), {false, true, false});
  BOOST_REQUIRE_EQUAL(all.size(), 3u);
  BOOST_TEST(all[0].body == "first\n");
  BOOST_TEST(
      (all[1].status == 200 && all[1].body.empty() && all[1].field("Content-Length") == "7"));
  BOOST_TEST(all[2].body == "third\n");
  BOOST_TEST(all[2].field("Connection") == "close");
}

BOOST_DATA_TEST_CASE(bad_requests_get_their_status_and_a_closed_connection, kModels, model) {
  ServerProcess server = start_http(model);
  uint16_t port = server.port();
  struct Case {
    std::string request;
    int status;
  };
  const std::string big(8 * 1024 + 1, 'a');
  const Case cases[] = {
      {"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + big + "\r\n\r\n", 431},  // an 8 KiB+1 header
      {"GET /" + big + " HTTP/1.1\r\nHost: x\r\n\r\n", 414},             // a long request line
      {"BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n", 501},
      {"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505},
      {"GET / HTTP/1.1\r\n\r\n", 400},  // no Host in 1.1
      {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", 413},  // a body on GET
      {"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 413},
      {"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
      {"GET /<script>alert(1)</script> HTTP/1.1\r\nHost: x\r\n Folded: y\r\n\r\n", 400},
      {"GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400},
      {"GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400},
      {"GET / http/1.1\r\nHost: x\r\n\r\n", 400},
  };
  for (const Case& c : cases) {
    std::string reply = exchange(port, c.request + get("/"), 20000ms);
    std::vector<Response> all = split_responses(reply);
    // Exactly one answer: the request after the bad one is never read.
    BOOST_REQUIRE_EQUAL(all.size(), 1u);
    BOOST_TEST(all[0].status == c.status, c.request.substr(0, 60) << " -> " << all[0].head);
    BOOST_TEST(all[0].field("Connection") == "close");
    BOOST_TEST(all[0].body.find("<script>") == std::string::npos, "no input echoed");
    BOOST_TEST(all[0].body.size() < 300);
  }
  // A refused HEAD gets its status and no body, like any HEAD.
  std::string head_reply =
      exchange(port, "HEAD / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody", 20000ms);
  BOOST_TEST(head_reply.starts_with("HTTP/1.1 413 "), head_reply);
  BOOST_TEST(head_reply.ends_with("\r\n\r\n"), head_reply);
  // An HTTP/1.0 request without Host is fine, and closes after its answer.
  Response old = ask(port, "GET / HTTP/1.0\r\n\r\n");
  BOOST_TEST(old.status == 200);
  BOOST_TEST(curl({"-o", "/dev/null", "-w", "%{http_code}", url(server, "/")}).out == "200");
  BOOST_TEST(server.stop() == 0);
}

BOOST_DATA_TEST_CASE(traversal_corpus_gets_nothing_from_outside_the_root, kModels, model) {
  TraversalFixture tree;
  const std::string before = tree.snapshot_outside();
  ServerProcess server = start_http(model, {"--root", tree.root().string()});
  auto encode = [](const std::string& name) {  // every byte but [A-Za-z0-9/] as %XX
    std::string out;
    for (unsigned char c : name) {
      if (std::isalnum(c) || c == '/') {
        out += static_cast<char>(c);
      } else {
        char hex[4];
        std::snprintf(hex, sizeof hex, "%%%02X", c);
        out += hex;
      }
    }
    return out;
  };
  auto printable = [](const std::string& name) {
    return std::all_of(name.begin(), name.end(), [](char c) { return c > 0x20 && c < 0x7f; });
  };
  auto fetch = [&](const std::string& target) {
    std::string reply = exchange(server.port(), get("/" + target, "Connection: close\r\n"));
    std::vector<Response> all = split_responses(reply);
    return all.empty() ? Response{} : all.front();
  };
  auto refused = [&](const std::string& name, const std::string& why) {
    for (const std::string& target : {encode(name), printable(name) ? name : encode(name)}) {
      Response r = fetch(target);
      BOOST_TEST((r.status >= 400 && r.status < 500), why << ": /" << target << " -> " << r.status);
      BOOST_TEST(r.body.find(tree.outside_secret()) == std::string::npos, why);
      BOOST_TEST(r.body.find(TraversalFixture::kOutsideOnlyName) == std::string::npos, why);
    }
  };
  for (const CorpusName& entry : tree.escapes()) refused(entry.name, entry.why);
  for (const CorpusName& entry : tree.literals()) refused(entry.name, entry.why);
  for (const InsideName& entry : tree.inside()) {
    Response r = fetch(encode(entry.name));
    BOOST_TEST(r.status == 200, entry.name);
    BOOST_TEST(r.body == entry.content, entry.name);
  }
  BOOST_TEST(tree.snapshot_outside() == before, "something outside the root changed");
  BOOST_TEST(server.wait_for_log("refused name \"link-out\": outside root"), server.log());
  BOOST_TEST(curl({"-o", "/dev/null", "-w", "%{http_code}", url(server, "/ok.txt")}).out == "200");
  BOOST_TEST(server.stop() == 0);
}

// A deadline test: the waiting decides it, so it runs once per way of waiting.
BOOST_DATA_TEST_CASE(a_client_sending_one_byte_a_second_gets_408,
                     bdata::make(one_model_per_io_context()), model) {
  ServerProcess server = start_http(model, {"--message-timeout", "2"});
  UniqueFd fd = connect_tcp(server.port());
  set_nonblocking(fd.get(), true);
  const std::string request = get("/");
  std::string reply;
  auto started = Clock::now();
  for (size_t i = 0; i < request.size() && reply.empty(); ++i) {
    ::send(fd.get(), &request[i], 1, MSG_NOSIGNAL);  // may fail once the server has closed
    pollfd p{fd.get(), POLLIN, 0};
    if (client_io().wait(std::span(&p, 1), Deadline::after(1000ms))) reply = read_to_eof(fd.get());
  }
  double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  BOOST_TEST(reply.starts_with("HTTP/1.1 408 Request Timeout\r\n"), reply);
  BOOST_TEST(reply.find("Connection: close") != std::string::npos);
  BOOST_TEST(seconds < 15.0, "cut near its 2 s deadline, not after the whole request: " << seconds);
  BOOST_TEST(server.wait_for_log("answering 408"), server.log());
  BOOST_TEST(server.stop() == 0);
}

BOOST_DATA_TEST_CASE(keep_alive_rules_of_1_0_and_1_1_and_the_keepalive_timeout,
                     bdata::make(one_model_per_io_context()), model) {
  ServerProcess server = start_http(model, {"--keepalive-timeout", "1"});
  // HTTP/1.0 without keep-alive: one answer, then the server closes.
  UniqueFd one = connect_tcp(server.port());
  write_all(one.get(), "GET / HTTP/1.0\r\n\r\n");
  std::vector<Response> closed = split_responses(read_to_eof(one.get(), 10000ms));
  BOOST_REQUIRE_EQUAL(closed.size(), 1u);
  BOOST_TEST(closed[0].field("Connection") == "close");
  // HTTP/1.0 with keep-alive: kept, said so; then 1.1 on the same connection; then silence
  // past --keepalive-timeout ends it from the server's side.
  UniqueFd kept = connect_tcp(server.port());
  write_all(kept.get(), "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  std::string got;
  char buffer[4096];
  while (split_responses(got).empty()) {
    size_t n =
        read_some(kept.get(), std::as_writable_bytes(std::span(buffer)), Deadline::after(10000ms));
    BOOST_REQUIRE(n > 0);
    got.append(buffer, n);
  }
  BOOST_TEST(split_responses(got)[0].field("Connection") == "keep-alive");
  write_all(kept.get(), get("/"));
  auto started = Clock::now();
  std::vector<Response> rest = split_responses(read_to_eof(kept.get(), 10000ms));
  double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  BOOST_REQUIRE_EQUAL(rest.size(), 1u);
  BOOST_TEST(rest[0].status == 200);
  BOOST_TEST(seconds < 8.0, "closed after the 1 s keep-alive timeout: " << seconds);
  BOOST_TEST(server.stop() == 0);
}

BOOST_AUTO_TEST_CASE(access_log_is_reopened_on_sighup_under_fork) {
  TempDir logs;
  std::string path = (logs.path / "access.log").string();
  ServerProcess server = start_http("fork", {"--access-log", path});
  BOOST_TEST(curl({"-o", "/dev/null", url(server, "/")}).exit_code == 0);
  BOOST_TEST(
      eventually([&] { return logs.read("access.log").find("\" 200 ") != std::string::npos; }));
  fs::rename(path, path + ".1");
  ::kill(server.pid(), SIGHUP);
  BOOST_TEST(server.wait_for_log("SIGHUP: reopened the access log"), server.log());
  BOOST_TEST(curl({"-o", "/dev/null", url(server, "/missing")}).exit_code == 0);
  BOOST_TEST(eventually([&] {
               return logs.read("access.log").find("\"GET /missing HTTP/1.1\" 404 ") !=
                      std::string::npos;
             }),
             logs.read("access.log"));
  BOOST_TEST(logs.read("access.log.1").find("/missing") == std::string::npos);
  BOOST_TEST(server.stop() == 0);
}

// Our own client against our own server, under every model: a binary file over 1 MiB saved
// with -o arrives byte for byte, -I shows the head of a HEAD, -L follows the 301 of a
// directory without its slash, and -f fails on a 404 with curl's status (22).
BOOST_DATA_TEST_CASE(http_client_gets_every_byte_from_http_server, kModels, model) {
  TempDir root, out;
  std::string data;
  for (size_t i = 0; i < (1U << 20) + 4321; ++i) data.push_back(static_cast<char>((i * 7) % 256));
  root.write("data.bin", data);
  root.write("docs/index.html", "<p>docs index</p>\n");
  ServerProcess server = start_http(model, {"--root", root.path.string()});
  std::string saved = (out.path / "data.bin").string();
  RunResult get = run_program("http-client", {url(server, "/data.bin"), "-o", saved});
  BOOST_TEST(get.exit_code == 0, get.err);
  BOOST_TEST((out.read("data.bin") == data), "saved " << out.read("data.bin").size() << " bytes");
  RunResult head = run_program("http-client", {"-I", url(server, "/data.bin")});
  BOOST_TEST(head.exit_code == 0, head.err);
  BOOST_TEST(head.out.find("Content-Length: " + std::to_string(data.size())) != std::string::npos,
             head.out);
  RunResult follow = run_program("http-client", {"-L", url(server, "/docs")});
  BOOST_TEST(follow.exit_code == 0, follow.err);
  BOOST_TEST(follow.out == "<p>docs index</p>\n");
  RunResult missing = run_program("http-client", {"-f", url(server, "/nothing-here")});
  BOOST_TEST(missing.exit_code == 22, missing.err);
}

// wrk briefly under every model, as a smoke test of keep-alive under load: every answer a
// 2xx, no socket error. Speed is the benchmark's business (scripts/bench/http-models).
BOOST_DATA_TEST_CASE(wrk_gets_only_successful_answers, kModels, model) {
  // iterative serves one kept-alive connection at a time: more would wait past wrk's timeout.
  size_t connections = model == "iterative" ? 1 : 10;
  std::vector<std::string> args{"--listen", "127.0.0.1:0", "--model", model};
  std::vector<std::string> room = room_for(model, connections);
  args.insert(args.end(), room.begin(), room.end());
  ServerProcess server("http-server", args);
  RunResult wrk = run_program("/usr/bin/wrk",
                              {"-t1", "-c" + std::to_string(connections), "-d1s", url(server, "/")},
                              "", 30000ms);
  BOOST_TEST(wrk.exit_code == 0, wrk.err);
  BOOST_TEST(wrk.out.find("requests in") != std::string::npos, wrk.out);
  BOOST_TEST(wrk.out.find("Non-2xx") == std::string::npos, wrk.out);
  BOOST_TEST(wrk.out.find("Socket errors") == std::string::npos, wrk.out);
  BOOST_TEST(server.stop() == 0);
}

BOOST_AUTO_TEST_SUITE_END()
