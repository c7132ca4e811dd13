// The access log (--access-log) and SIGHUP under every model: one whole, parsable line per
// connection with exact byte counts and the way it ended; rotation by rename + SIGHUP loses
// no line; SIGHUP keeps every server serving and its children alive.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "address.hpp"
#include "harness.hpp"
#include "socket.hpp"

namespace bdata = boost::unit_test::data;
using namespace sockserv;
using namespace sockserv::test;

namespace {
const auto kModels = bdata::make(all_models());

using Fields = std::map<std::string, std::string>;

// The documented format (docs/access-log.md), every key in its place: a line that does not
// match exactly is torn, interleaved or malformed.
const std::regex kLine(
    R"(time=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z service=(\S+) model=(\S+) pid=(\d+) )"
    R"(tid=(\d+) local=(\S+) peer=(\S+) transport=(tcp|udp|unix|unixgram) )"
    R"(duration=(\d+\.\d{6}) in=(\d+) out=(\d+) )"
    R"(end=(closed|reset|idle-timeout|message-timeout|refused|drain|killed|error) )"
    R"(reason=(-|[^"\s\\]+|"(?:[^"\\]|\\.)*"))");

// The fields of every line of `text`; a line that does not parse fails the test.
std::vector<Fields> parse_lines(const std::string& text) {
  static const char* kNames[] = {"service",   "model",    "pid", "tid", "local", "peer",
                                 "transport", "duration", "in",  "out", "end",   "reason"};
  std::vector<Fields> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    bool whole = std::regex_match(line, m, kLine);
    BOOST_TEST(whole, "malformed access log line: " << line);
    if (!whole) continue;
    Fields fields;
    for (size_t i = 0; i < std::size(kNames); ++i) fields[kNames[i]] = m[i + 1];
    lines.push_back(fields);
  }
  BOOST_TEST((text.empty() || text.back() == '\n'), "the last line is not whole");
  return lines;
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

size_t line_count(const std::filesystem::path& path) {
  std::string text = read_text(path);
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

// Waits (bounded) for `count` lines in the file and returns them parsed.
std::vector<Fields> wait_for_lines(const std::filesystem::path& path, size_t count,
                                   Millis timeout = 10000ms) {
  eventually([&] { return line_count(path) >= count; }, timeout);
  return parse_lines(read_text(path));
}

uint16_t local_port(int fd) {
  return local_address(fd).port();
}

ServerProcess start_logged(const std::string& program, const std::string& model,
                           const std::filesystem::path& log, std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"--listen", "127.0.0.1:0",  "--model",
                                model,      "--access-log", log.string()};
  args.insert(args.end(), extra.begin(), extra.end());
  return ServerProcess(program, args);
}

// A client of a fork server, served once (one byte echoed), and the child serving it.
struct ServedClient {
  UniqueFd socket;
  pid_t child = -1;
};
ServedClient served_by_a_child(const ServerProcess& server) {
  ServedClient served{connect_tcp(server.port())};
  write_all(served.socket.get(), "x");
  std::byte echoed[1];
  BOOST_REQUIRE(read_full(served.socket.get(), echoed, Deadline::after(10000ms)) == 1u);
  std::vector<pid_t> children = children_of(server.pid());
  BOOST_REQUIRE(children.size() == 1u);
  served.child = children[0];
  return served;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(access_log)

BOOST_DATA_TEST_CASE(an_echo_connection_logs_exact_bytes_and_closed, kModels, model) {
  TempDir dir("access");
  ServerProcess server = start_logged("echo-server", model, dir.path / "access.log");
  std::string data = random_bytes(100'000, 3);
  UniqueFd fd = connect_tcp(server.port());
  uint16_t client_port = local_port(fd.get());
  write_all(fd.get(), data);
  ::shutdown(fd.get(), SHUT_WR);
  BOOST_REQUIRE(read_to_eof(fd.get()) == data);
  std::vector<Fields> lines = wait_for_lines(dir.path / "access.log", 1);
  BOOST_REQUIRE(lines.size() == 1u);
  Fields& line = lines[0];
  BOOST_TEST(line["service"] == "echo-server");
  BOOST_TEST(line["model"] == model);
  BOOST_TEST(line["peer"] == "127.0.0.1:" + std::to_string(client_port));
  BOOST_TEST(line["local"] == server.address());
  BOOST_TEST(line["transport"] == "tcp");
  BOOST_TEST(line["in"] == "100000");
  BOOST_TEST(line["out"] == "100000");
  BOOST_TEST(line["end"] == "closed");
  BOOST_TEST(line["reason"] == "-");
  pid_t pid = std::stoi(line["pid"]);
  if (model == "fork" || model == "prefork") {
    BOOST_TEST(pid != server.pid(), "a child or worker served it");
  } else {
    BOOST_TEST(pid == server.pid());
  }
  BOOST_TEST(server.stop() == 0);
}

BOOST_DATA_TEST_CASE(a_silent_client_is_logged_as_idle_timeout, kModels, model) {
  TempDir dir("access");
  ServerProcess server =
      start_logged("echo-server", model, dir.path / "access.log", {"--idle-timeout", "0.3"});
  UniqueFd fd = connect_tcp(server.port());
  write_all(fd.get(), "abc");
  BOOST_TEST(read_to_eof(fd.get(), 10000ms) == "abc", "echoed, then closed for silence");
  std::vector<Fields> lines = wait_for_lines(dir.path / "access.log", 1);
  BOOST_REQUIRE(lines.size() == 1u);
  BOOST_TEST(lines[0]["end"] == "idle-timeout");
  BOOST_TEST(lines[0]["in"] == "3");
  BOOST_TEST(lines[0]["out"] == "3");
  BOOST_TEST(std::stod(lines[0]["duration"]) >= 0.25);
}

BOOST_DATA_TEST_CASE(a_client_over_max_per_source_is_logged_as_refused,
                     bdata::make(concurrent_models()), model) {
  TempDir dir("access");
  std::vector<std::string> extra = room_for(model, 4);
  extra.insert(extra.end(), {"--max-per-source", "1"});
  ServerProcess server = start_logged("echo-server", model, dir.path / "access.log", extra);
  UniqueFd first = connect_tcp(server.port());
  write_all(first.get(), "1");
  std::byte one[1];
  BOOST_REQUIRE(read_full(first.get(), one, Deadline::after(10000ms)) == 1u);  // admitted
  UniqueFd second = connect_tcp(server.port());
  uint16_t second_port = local_port(second.get());
  BOOST_TEST(read_to_eof(second.get(), 10000ms).empty(), "refused: closed at once");
  std::vector<Fields> lines = wait_for_lines(dir.path / "access.log", 1);
  BOOST_REQUIRE(lines.size() == 1u);
  BOOST_TEST(lines[0]["end"] == "refused");
  BOOST_TEST(lines[0]["reason"] == "per-source");
  BOOST_TEST(lines[0]["peer"] == "127.0.0.1:" + std::to_string(second_port));
  BOOST_TEST(lines[0]["in"] == "0");
  first.reset();
  lines = wait_for_lines(dir.path / "access.log", 2);
  BOOST_REQUIRE(lines.size() == 2u);
  BOOST_TEST(lines[1]["end"] == "closed");
  BOOST_TEST(lines[1]["in"] == "1");
}

// A fork child killed with -9 cannot write its line: its parent writes it when it reaps the
// child, naming the child's pid, the client and the signal.
BOOST_AUTO_TEST_CASE(a_fork_child_killed_with_sigkill_gets_its_line_from_the_parent) {
  TempDir dir("access");
  ServerProcess server = start_logged("echo-server", "fork", dir.path / "access.log");
  ServedClient client = served_by_a_child(server);
  uint16_t client_port = local_port(client.socket.get());
  BOOST_REQUIRE(::kill(client.child, SIGKILL) == 0);
  BOOST_TEST(read_to_eof(client.socket.get(), 10000ms).empty(),
             "the connection died with the child");
  std::vector<Fields> lines = wait_for_lines(dir.path / "access.log", 1);
  BOOST_REQUIRE(lines.size() == 1u);
  BOOST_TEST(lines[0]["end"] == "killed");
  BOOST_TEST(lines[0]["reason"] == R"x("signal 9 (Killed)")x");
  BOOST_TEST(lines[0]["pid"] == std::to_string(client.child));
  BOOST_TEST(lines[0]["peer"] == "127.0.0.1:" + std::to_string(client_port));
  BOOST_TEST(lines[0]["local"] == server.address());
  // The server goes on serving, and a child that finishes still writes its own line.
  BOOST_TEST(exchange(server.port(), "after", 10000ms) == "after");
  lines = wait_for_lines(dir.path / "access.log", 2);
  BOOST_REQUIRE(lines.size() == 2u);
  BOOST_TEST(lines[1]["end"] == "closed");
  BOOST_TEST(lines[1]["in"] == "5");
  BOOST_TEST(server.stop() == 0);
}

// A child that does not end when the drain time runs out (here: stopped, so the drain signal
// waits) is killed by the server itself; its line then says drain, not killed.
BOOST_AUTO_TEST_CASE(a_fork_child_killed_at_the_drain_deadline_is_logged_as_drain) {
  TempDir dir("access");
  ServerProcess server =
      start_logged("echo-server", "fork", dir.path / "access.log", {"--drain-timeout", "1"});
  ServedClient client = served_by_a_child(server);
  BOOST_REQUIRE(::kill(client.child, SIGSTOP) == 0);
  BOOST_TEST(server.stop() == 0);  // SIGTERM; after 1 s the server kills the stopped child
  std::vector<Fields> lines = wait_for_lines(dir.path / "access.log", 1);
  BOOST_REQUIRE(lines.size() == 1u);
  BOOST_TEST(lines[0]["end"] == "drain");
  BOOST_TEST(lines[0]["reason"] == R"x("killed at the end of the drain time: signal 9 (Killed)")x");
  BOOST_TEST(lines[0]["pid"] == std::to_string(client.child));
}

// The iterative server takes one client at a time, so two at once from one source never
// reach its admission; a rate limit refuses the second of two quick ones instead.
BOOST_AUTO_TEST_CASE(iterative_logs_a_client_over_max_rate_as_refused) {
  TempDir dir("access");
  ServerProcess server =
      start_logged("echo-server", "iterative", dir.path / "access.log", {"--max-rate", "1"});
  BOOST_REQUIRE(exchange(server.port(), "1", 10000ms) == "1");
  UniqueFd second = connect_tcp(server.port());
  BOOST_TEST(read_to_eof(second.get(), 10000ms).empty(), "refused: closed at once");
  std::vector<Fields> lines = wait_for_lines(dir.path / "access.log", 2);
  BOOST_REQUIRE(lines.size() == 2u);
  BOOST_TEST(lines[0]["end"] == "closed");
  BOOST_TEST(lines[1]["end"] == "refused");
  BOOST_TEST(lines[1]["reason"] == "rate");
}

BOOST_DATA_TEST_CASE(a_client_reset_is_logged_as_reset, kModels, model) {
  TempDir dir("access");
  ServerProcess server = start_logged("echo-server", model, dir.path / "access.log");
  UniqueFd fd = connect_tcp(server.port());
  write_all(fd.get(), "xy");
  std::byte echoed[2];
  BOOST_REQUIRE(read_full(fd.get(), echoed, Deadline::after(10000ms)) == 2u);
  // SO_LINGER with a zero timeout: close() sends RST instead of FIN.
  linger abort_on_close{1, 0};
  BOOST_REQUIRE(
      ::setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close) == 0);
  fd.reset();
  std::vector<Fields> lines = wait_for_lines(dir.path / "access.log", 1);
  BOOST_REQUIRE(lines.size() == 1u);
  BOOST_TEST(lines[0]["end"] == "reset");
  BOOST_TEST(lines[0]["in"] == "2");
  BOOST_TEST(lines[0]["out"] == "2");
  BOOST_TEST(server.stop() == 0);
}

BOOST_DATA_TEST_CASE(a_datagram_exchange_is_one_line, kModels, model) {
  TempDir dir("access");
  ServerProcess server("echo-server", {"--listen", "udp:127.0.0.1:0", "--model", model,
                                       "--access-log", (dir.path / "access.log").string()});
  UniqueFd socket = udp_socket();
  BOOST_REQUIRE(udp_exchange(socket.get(), server.port(), "ping!") == "ping!");
  std::vector<Fields> lines = wait_for_lines(dir.path / "access.log", 1);
  BOOST_REQUIRE(lines.size() == 1u);
  BOOST_TEST(lines[0]["transport"] == "udp");
  BOOST_TEST(lines[0]["in"] == "5");
  BOOST_TEST(lines[0]["out"] == "5");
  BOOST_TEST(lines[0]["end"] == "closed");
  BOOST_TEST(lines[0]["peer"] == "127.0.0.1:" + std::to_string(local_port(socket.get())));
}

// Many processes (fork children, prefork workers) or threads append at once: every line must
// still be whole, one per connection, with its own counts.
BOOST_DATA_TEST_CASE(lines_from_many_concurrent_connections_are_whole, kModels, model) {
  TempDir dir("access");
  ServerProcess server =
      start_logged("echo-server", model, dir.path / "access.log", room_for(model, 16));
  constexpr int kClients = 16;
  constexpr int kEach = 10;
  std::vector<std::future<int>> results;
  for (int c = 0; c < kClients; ++c) {
    results.push_back(std::async(std::launch::async, [&server, c] {
      int good = 0;
      for (int i = 0; i < kEach; ++i) {
        std::string data = random_bytes(static_cast<size_t>(1 + c * kEach + i), c);
        good += exchange(server.port(), data, 10000ms) == data ? 1 : 0;
      }
      return good;
    }));
  }
  int good = 0;
  for (auto& r : results) good += r.get();
  BOOST_REQUIRE(good == kClients * kEach);
  std::vector<Fields> lines = wait_for_lines(dir.path / "access.log", kClients * kEach);
  BOOST_REQUIRE(lines.size() == static_cast<size_t>(kClients * kEach));
  std::multiset<std::string> sizes;
  for (Fields& line : lines) {
    BOOST_TEST(line["end"] == "closed");
    BOOST_TEST(line["in"] == line["out"]);
    sizes.insert(line["in"]);
  }
  for (int n = 1; n <= kClients * kEach; ++n) {
    BOOST_TEST(sizes.count(std::to_string(n)) == 1u, "one line for the " << n << "-byte client");
  }
}

// logrotate's way: rename the file, SIGHUP; the server (and every child and worker) writes
// on into a new file at the old name, and every connection has its line in one of the two.
BOOST_DATA_TEST_CASE(rotation_by_rename_and_sighup_loses_no_line, kModels, model) {
  TempDir dir("access");
  std::filesystem::path log = dir.path / "access.log";
  std::filesystem::path rotated = dir.path / "access.log.1";
  ServerProcess server = start_logged("echo-server", model, log, room_for(model, 4));
  std::set<std::string> peers;
  auto connect_some = [&](int count) {
    for (int i = 0; i < count; ++i) {
      UniqueFd fd = connect_tcp(server.port());
      peers.insert("127.0.0.1:" + std::to_string(local_port(fd.get())));
      write_all(fd.get(), "hello");
      ::shutdown(fd.get(), SHUT_WR);
      BOOST_REQUIRE(read_to_eof(fd.get(), 10000ms) == "hello");
    }
  };
  connect_some(6);
  BOOST_REQUIRE(wait_for_lines(log, 6).size() == 6u);
  std::filesystem::rename(log, rotated);
  ::kill(server.pid(), SIGHUP);
  BOOST_REQUIRE(server.wait_for_log("SIGHUP: reopened the access log"));
  connect_some(6);
  std::vector<Fields> fresh = wait_for_lines(log, 6);
  std::vector<Fields> old = parse_lines(read_text(rotated));
  BOOST_TEST(old.size() == 6u);
  BOOST_TEST(fresh.size() == 6u, "new connections land in the new file");
  std::set<std::string> logged;
  for (auto* lines : {&old, &fresh}) {
    for (Fields& line : *lines) logged.insert(line["peer"]);
  }
  BOOST_TEST(logged == peers, "every connection has exactly its line");
  BOOST_TEST(server.running());
  BOOST_TEST(server.stop() == 0);
}

// SIGHUP to the server and to each of its children (as a terminal hangup reaches the whole
// process group): nothing dies, a connection in progress goes on, new ones are served, and
// the later SIGTERM still stops cleanly: exit 0, no child left, the unix socket file gone.
BOOST_DATA_TEST_CASE(sighup_keeps_every_model_serving, kModels, model) {
  TempDir dir("hup");
  std::string path = (dir.path / "echo.sock").string();
  std::vector<std::string> args{"--listen",     "127.0.0.1:0", "--listen",
                                "unix:" + path, "--model",     model};
  for (const std::string& a : room_for(model, 4)) args.push_back(a);
  ServerProcess server("echo-server", args);
  UniqueFd held = connect_tcp(server.port());
  write_all(held.get(), "before");
  std::byte buffer[6];
  BOOST_REQUIRE(read_full(held.get(), buffer, Deadline::after(10000ms)) == 6u);
  std::vector<pid_t> children = children_of(server.pid());
  ::kill(server.pid(), SIGHUP);
  for (pid_t child : children) ::kill(child, SIGHUP);
  BOOST_TEST(server.wait_for_log("SIGHUP: no access log to reopen"), server.log());
  for (pid_t child : children) BOOST_TEST(process_running(child), "child " << child << " lives");
  write_all(held.get(), "after!");
  BOOST_TEST(read_full(held.get(), buffer, Deadline::after(10000ms)) == 6u);
  BOOST_TEST(std::string(reinterpret_cast<char*>(buffer), 6) == "after!");
  held.reset();
  BOOST_TEST(exchange(server.port(), "new client", 10000ms) == "new client");
  RunResult r = run_program("echo-client", {"unix:" + path, "--message", "via unix"});
  BOOST_TEST(r.out == "via unix\n", r.err);
  BOOST_TEST(server.stop() == 0);
  BOOST_TEST(!std::filesystem::exists(path), "the unix socket file is removed");
  for (pid_t child : children) BOOST_TEST(!process_running(child), "child " << child << " left");
}

BOOST_AUTO_TEST_CASE(standard_output_is_refused_under_inetd) {
  RunResult r = run_program("echo-server", {"--inetd", "--access-log", "-"}, "", 5000ms);
  BOOST_TEST(r.exit_code == 64, r.err);
  BOOST_TEST(r.err.find("client's connection") != std::string::npos, r.err);
}

BOOST_AUTO_TEST_CASE(an_unwritable_access_log_is_a_startup_error) {
  RunResult r = run_program(
      "echo-server", {"--listen", "127.0.0.1:0", "--access-log", "/nonexistent-dir/access.log"}, "",
      5000ms);
  BOOST_TEST(r.exit_code == 73, r.err);  // EX_CANTCREAT
  BOOST_TEST(r.err.find("/nonexistent-dir/access.log") != std::string::npos, r.err);
}

BOOST_AUTO_TEST_SUITE_END()
