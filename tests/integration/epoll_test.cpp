// The epoll model: thousands of idle connections on two loops, chat between fibers, file
// work offloaded to helper threads, a command's timeout, and the drain on SIGTERM.
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "harness.hpp"
#include "sha256.hpp"

using namespace sockserv;
using namespace sockserv::test;
namespace fs = std::filesystem;

namespace epoll_test {

constexpr size_t kIdle = 2000;

// Room for kIdle connections at both ends: the server inherits this limit from the test.
void raise_descriptor_limit(rlim_t wanted) {
  rlimit limit{};
  BOOST_REQUIRE(::getrlimit(RLIMIT_NOFILE, &limit) == 0);
  if (limit.rlim_cur >= wanted) return;
  BOOST_REQUIRE_MESSAGE(limit.rlim_max >= wanted, "hard RLIMIT_NOFILE below " << wanted);
  limit.rlim_cur = wanted;
  BOOST_REQUIRE(::setrlimit(RLIMIT_NOFILE, &limit) == 0);
}

// VmRSS of `pid` in MiB, from /proc/PID/status.
double rss_mib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string key; status >> key;) {
    if (key == "VmRSS:") {
      double kib = 0;
      status >> kib;
      return kib / 1024;
    }
  }
  return -1;
}

// A chat member on a raw socket: reads lines, and waits for one that contains a needle.
class ChatLine {
 public:
  explicit ChatLine(uint16_t port) : fd_(connect_tcp(port)) {}
  void say(const std::string& line) { write_all(fd_.get(), line + "\n"); }
  // Lines until one contains `needle` (returned), or "" after `timeout`.
  std::string expect(const std::string& needle, Millis timeout = 5000ms) {
    Deadline deadline = Deadline::after(timeout);
    for (;;) {
      for (size_t end; (end = pending_.find('\n')) != std::string::npos;) {
        std::string line = pending_.substr(0, end);
        pending_.erase(0, end + 1);
        if (line.find(needle) != std::string::npos) return line;
      }
      char buffer[4096];
      size_t n = 0;
      try {
        n = read_some(fd_.get(), std::as_writable_bytes(std::span(buffer)), deadline);
      } catch (const std::exception&) {
        return "";  // timed out
      }
      if (n == 0) return "";
      pending_.append(buffer, n);
    }
  }

 private:
  UniqueFd fd_;
  std::string pending_;
};

// Listening TCP sockets on `port` (127.0.0.1 or any IPv4 address), from /proc/net/tcp: in
// column 2 the local address as hex ADDRESS:PORT, in column 4 the state, 0A for LISTEN.
size_t listening_sockets_on(uint16_t port) {
  std::ifstream table("/proc/net/tcp");
  std::string line;
  std::getline(table, line);  // the header
  size_t count = 0;
  for (; std::getline(table, line);) {
    std::istringstream fields(line);
    std::string slot, local, remote, state;
    fields >> slot >> local >> remote >> state;
    size_t colon = local.find(':');
    if (colon == std::string::npos || state != "0A") continue;
    count += std::stoul(local.substr(colon + 1), nullptr, 16) == port;
  }
  return count;
}

// "stats: loop N: accepted K, ..." → K for each loop, in order.
std::vector<unsigned long> accepted_per_loop(const std::string& log, size_t loops) {
  std::vector<unsigned long> accepted;
  for (size_t loop = 1; loop <= loops; ++loop) {
    std::string key = "stats: loop " + std::to_string(loop) + ": accepted ";
    size_t at = log.rfind(key);
    accepted.push_back(at == std::string::npos ? 0 : std::stoul(log.substr(at + key.size())));
  }
  return accepted;
}

std::string sha256(const std::string& data) {
  Sha256 hash;
  hash.update(as_bytes(data));
  return hash.hex_digest();
}

}  // namespace epoll_test
using namespace epoll_test;

BOOST_AUTO_TEST_SUITE(epoll)

BOOST_AUTO_TEST_CASE(two_thousand_idle_connections_while_a_client_is_served) {
  raise_descriptor_limit(2 * kIdle + 256);
  ServerProcess server("echo-server",
                       {"--listen", "127.0.0.1:0", "--model", "epoll", "--workers", "2"});
  std::vector<UniqueFd> idle;
  for (size_t i = 0; i < kIdle; ++i) idle.push_back(connect_tcp(server.port()));
  // kIdle connections and the two loops' listening sockets.
  BOOST_TEST(eventually([&] { return socket_count(server.pid()) >= kIdle + 2; }, 10000ms),
             "server sockets: " << socket_count(server.pid()));
  BOOST_TEST_MESSAGE("VmRSS with " << kIdle << " idle connections: " << rss_mib(server.pid())
                                   << " MiB");
  // The target is 200 MiB for 10,000 idle and 100 active; 2,000 must stay far below.
  // (Not under a sanitizer: its shadow memory alone is hundreds of MiB.)
  if (!kSanitizerBuild) BOOST_TEST(rss_mib(server.pid()) < 200.0);
  for (unsigned round = 0; round < 3; ++round) {
    std::string data = random_bytes(256 * 1024, round);
    BOOST_TEST(exchange(server.port(), data) == data, "round " << round);
  }
  RunResult client =
      run_program("echo-client", {server.address(), "--message", "still here", "--count", "5"});
  BOOST_TEST(client.exit_code == 0, client.err);
  BOOST_TEST(client.out == "still here\nstill here\nstill here\nstill here\nstill here\n");
  // Every idle connection is still open and served: one byte there and back on each.
  for (UniqueFd& fd : idle) write_all(fd.get(), "x");
  size_t answered = 0;
  for (UniqueFd& fd : idle) {
    char byte = 0;
    answered += read_full(fd.get(), std::as_writable_bytes(std::span(&byte, 1)),
                          Deadline::after(10000ms)) == 1 &&
                byte == 'x';
  }
  BOOST_TEST(answered == kIdle);
  idle.clear();
  BOOST_TEST(eventually([&] { return socket_count(server.pid()) == 2; }, 10000ms),
             "sockets left: " << socket_count(server.pid()));
  BOOST_TEST(server.stop() == 0);
}

// As ref-epoll: each loop has a socket of its own on the port (SO_REUSEPORT), and the kernel
// hands each client to one of them, so no loop wakes for a client another loop takes. With
// one socket shared by the loops, a loop busy finishing one client had the next reported to
// it too, found it taken by the idle loop, and counted an empty wake-up.
BOOST_AUTO_TEST_CASE(each_loop_accepts_from_a_listening_socket_of_its_own) {
  ServerProcess server(
      "echo-server", {"--listen", "127.0.0.1:0", "--model", "epoll", "--workers", "3", "--stats"});
  BOOST_TEST(listening_sockets_on(server.port()) == 3u);
  BOOST_TEST(count_of(server.log(), "listening on") == 1u, server.log());
  // The kernel picks a loop by a hash of the client's port: with 60 clients, each loop
  // getting at least one fails by chance about once in ten billion runs.
  constexpr int kClients = 60;
  for (int i = 0; i < kClients; ++i) BOOST_TEST(exchange(server.port(), "ping") == "ping");
  ::kill(server.pid(), SIGUSR1);
  BOOST_REQUIRE(server.wait_for_log("stats: total:"));
  std::string expected =
      "stats: total: accepted " + std::to_string(kClients) + ", empty wake-ups 0,";
  BOOST_TEST(server.log().find(expected) != std::string::npos, server.log());
  for (unsigned long accepted : accepted_per_loop(server.log(), 3))
    BOOST_TEST(accepted > 0u, server.log());
  BOOST_TEST(server.stop() == 0);
  BOOST_TEST(listening_sockets_on(server.port()) == 0u, "every loop's socket closed");
}

// The loops' port is shared only among them: another server (of any model) that wants it
// still fails loudly, as with one listening socket.
BOOST_DATA_TEST_CASE(a_second_server_on_the_loops_port_fails_loudly,
                     boost::unit_test::data::make({"epoll", "fork"}), model) {
  ServerProcess server("echo-server",
                       {"--listen", "127.0.0.1:0", "--model", "epoll", "--workers", "2"});
  RunResult second =
      run_program("echo-server", {"--listen", server.address(), "--model", model}, "", 10000ms);
  BOOST_TEST(second.exit_code == 69, second.err);
  BOOST_TEST(second.err.find("another server is using port") != std::string::npos, second.err);
  BOOST_TEST(exchange(server.port(), "ping") == "ping", "the first server still serves");
  BOOST_TEST(server.stop() == 0);
}

// An administrator's --workers that the descriptor limit cannot hold gets told so, instead
// of "socket: Too many open files".
BOOST_AUTO_TEST_CASE(more_workers_than_descriptors_for_their_sockets_is_a_clear_error) {
  RunResult r =
      run_program("/usr/bin/prlimit", {"--nofile=64:64", bin_path("echo-server"), "--listen",
                                       "127.0.0.1:0", "--model", "epoll", "--workers", "100"});
  BOOST_TEST(r.exit_code == 71, r.err);
  BOOST_TEST(
      r.err.find("100 workers are more than the descriptor limit allows") != std::string::npos,
      r.err);
  BOOST_TEST(r.err.find("listening on") == std::string::npos, r.err);
}

BOOST_AUTO_TEST_CASE(chat_between_three_members_on_two_loops) {
  ServerProcess server("chat-server",
                       {"--listen", "127.0.0.1:0", "--model", "epoll", "--workers", "2"});
  ChatLine alice(server.port()), bob(server.port()), carol(server.port());
  for (auto [member, nick] : {std::pair{&alice, "alice"}, {&bob, "bob"}, {&carol, "carol"}}) {
    BOOST_TEST(!member->expect("welcome").empty());
    member->say(std::string("/nick ") + nick);
    BOOST_TEST(!member->expect(std::string("you are now ") + nick).empty());
  }
  alice.say("hello from alice");
  BOOST_TEST(bob.expect("hello from alice") == "[alice] hello from alice");
  BOOST_TEST(carol.expect("hello from alice") == "[alice] hello from alice");
  carol.say("/who");
  BOOST_TEST(!carol.expect("end of who (3 members)").empty());
  bob.say("/quit");
  BOOST_TEST(!bob.expect("bye").empty());
  BOOST_TEST(!alice.expect("bob left").empty());
  BOOST_TEST(!carol.expect("bob left").empty());
  BOOST_TEST(server.stop() == 0);
}

BOOST_AUTO_TEST_CASE(file_get_and_put_of_a_few_mib_with_sha256) {
  TempDir root, out;
  std::string data = random_bytes(3 << 20, 3);
  root.write("three", data);
  ServerProcess server("file-server", {"--listen", "127.0.0.1:0", "--model", "epoll", "--root",
                                       root.path.string(), "--allow-upload"});
  RunResult get = run_program(
      "file-client", {server.address(), "get", "three", "-o", (out.path / "three").string()});
  BOOST_TEST(get.exit_code == 0, get.err);
  BOOST_TEST(sha256(out.read("three")) == sha256(data));
  std::string upload = random_bytes(5 << 20, 5);
  out.write("five", upload);
  RunResult put =
      run_program("file-client", {server.address(), "put", (out.path / "five").string(), "five"});
  BOOST_TEST(put.exit_code == 0, put.err);
  BOOST_TEST(sha256(root.read("five")) == sha256(upload));
  RunResult list = run_program("file-client", {server.address(), "list"});
  BOOST_TEST(list.out.find("five") != std::string::npos, list.out);
  BOOST_TEST(server.stop() == 0);
}

BOOST_AUTO_TEST_CASE(cmd_timeout_kills_a_sleep) {
  std::vector<std::string> args{"--listen",  "127.0.0.1:0", "--model", "epoll",
                                "--timeout", "1",           "--allow", "sleep 5"};
  // cmd-server will not run clients' commands as root: the tests (root here) drop to nobody.
  if (::geteuid() == 0) args.insert(args.end(), {"--user", "nobody"});
  ServerProcess server("cmd-server", args);
  Clock::time_point start = Clock::now();
  RunResult r = run_program("cmd-client", {server.address(), "--", "sleep", "5"}, "", 20000ms);
  BOOST_TEST(r.exit_code == 128 + SIGKILL, r.err);
  BOOST_TEST(r.err.find("killed after the server's timeout") != std::string::npos, r.err);
  BOOST_TEST((Clock::now() - start < 4500ms), "the sleep ran to its end");
  BOOST_TEST(server.stop() == 0);
}

BOOST_AUTO_TEST_CASE(sigterm_with_an_idle_connection_ends_at_the_drain_time) {
  ServerProcess server("echo-server", {"--listen", "127.0.0.1:0", "--model", "epoll", "--workers",
                                       "2", "--drain-timeout", "1", "--stats"});
  UniqueFd idle = connect_tcp(server.port());
  write_all(idle.get(), "ping");
  char reply[4];
  BOOST_TEST(read_full(idle.get(), std::as_writable_bytes(std::span(reply)),
                       Deadline::after(5000ms)) == 4u);
  Clock::time_point start = Clock::now();
  BOOST_TEST(server.stop(SIGTERM, 10000ms) == 0);
  BOOST_TEST((Clock::now() - start < 3000ms), "exit took too long");
  BOOST_TEST(server.log().find("drain time is over") != std::string::npos, server.log());
  BOOST_TEST(server.log().find("stats: loop 2:") != std::string::npos, server.log());
  BOOST_TEST(server.log().find("stats: total: accepted 1,") != std::string::npos, server.log());
  BOOST_TEST(read_to_eof(idle.get(), 2000ms).empty(), "the client sees the connection end");
}

BOOST_AUTO_TEST_SUITE_END()
