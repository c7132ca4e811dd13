// loadgen against servers whose behaviour is known: a fixed delay (the percentiles must show
// it, and an open loop the server cannot keep must show the queueing), resets, wrong bytes;
// then every mode against the real echo-server.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <unistd.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>
#include <vector>

#include "error.hpp"
#include "harness.hpp"
#include "peers.hpp"

using namespace sockserv;
using namespace sockserv::test;
using json = nlohmann::json;

namespace {

constexpr size_t kRequest = 64;  // loadgen's --size in these tests

// A small server on 127.0.0.1 (port 0) inside the test process: one thread accepts, one
// thread per connection runs `serve`. Every wait polls `stop`; the destructor joins all.
class TestServer {
 public:
  using Serve = std::function<void(int fd, const std::atomic<bool>& stop)>;

  explicit TestServer(Serve serve) : serve_(std::move(serve)) {
    listener_ = UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    auto* raw = reinterpret_cast<sockaddr*>(&address);
    if (!listener_ || ::bind(listener_.get(), raw, length) != 0 ||
        ::listen(listener_.get(), 128) != 0 || ::getsockname(listener_.get(), raw, &length) != 0) {
      throw_errno("test server on 127.0.0.1:0");
    }
    port_ = ntohs(address.sin_port);
    acceptor_ = std::jthread([this] { accept_loop(); });
  }
  ~TestServer() {
    stop_ = true;
    acceptor_.join();
    connections_.clear();  // joins
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  void accept_loop() {
    // Bounded: a server that resets is reconnected about every 10 ms per connection.
    while (!stop_ && connections_.size() < 5000) {
      pollfd p{listener_.get(), POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      connections_.emplace_back([this, fd] {
        UniqueFd owned(fd);
        serve_(owned.get(), stop_);
      });
    }
  }

  Serve serve_;
  UniqueFd listener_;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::vector<std::jthread> connections_;
  std::jthread acceptor_;
};

// Reads exactly `n` bytes unless the peer closes or the test stops; true when it got them.
bool read_request(int fd, char* data, size_t n, const std::atomic<bool>& stop) {
  for (size_t got = 0; got < n;) {
    if (stop) return false;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    ssize_t r = ::recv(fd, data + got, n - got, 0);
    if (r <= 0) return false;
    got += static_cast<size_t>(r);
  }
  return true;
}

bool send_all(int fd, const char* data, size_t n) {
  for (size_t sent = 0; sent < n;) {
    ssize_t w = ::send(fd, data + sent, n - sent, MSG_NOSIGNAL);
    if (w <= 0) return false;
    sent += static_cast<size_t>(w);
  }
  return true;
}

// Echoes each request of kRequest bytes after `delay`, with every byte changed when `garble`.
TestServer::Serve delayed_echo(Millis delay, bool garble = false) {
  return [delay, garble](int fd, const std::atomic<bool>& stop) {
    char request[kRequest];
    while (read_request(fd, request, kRequest, stop)) {
      std::this_thread::sleep_for(delay);
      if (garble) {
        for (char& c : request) c = static_cast<char>(c ^ 0x20);
      }
      if (!send_all(fd, request, kRequest)) return;
    }
  };
}

// Accepts and resets at once: SO_LINGER {1, 0} makes close() send RST instead of FIN.
void reset_at_once(int fd, const std::atomic<bool>&) {
  linger hard{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
}

struct LoadgenRun {
  int exit_code;
  json report;
};

LoadgenRun run_loadgen(const std::string& address, std::vector<std::string> args) {
  args.insert(args.begin(), address);
  args.emplace_back("--json");
  RunResult run = run_program("loadgen", args, "", 30000ms);
  BOOST_TEST_INFO("loadgen stderr: " << run.err);
  BOOST_REQUIRE(!run.out.empty());
  BOOST_TEST_MESSAGE("loadgen " << args[1] << "...: " << run.out);
  return {run.exit_code, json::parse(run.out)};
}

double us(const json& report, const char* histogram, const char* key) {
  return report[histogram][key].get<double>();
}

// Runs loadgen against a server that answers after 20 ms and checks p50 and p99 are 20..30
// ms. Under 20 would be a latency taken before the whole echo arrived: checked on every run.
// Over 30 can also be a busy machine (2 shared cores, a scheduler that adds 10 ms to a few
// wake-ups), so a slow tail gets up to three runs; three in a row is a fault.
json run_against_20ms(const std::vector<std::string>& args) {
  TestServer server(delayed_echo(20ms));
  json r;
  for (int attempt = 1; attempt <= 3; ++attempt) {
    auto [code, report] = run_loadgen(server.address(), args);
    r = report;
    BOOST_TEST(code == EX_OK);
    BOOST_TEST(r["errors"]["total"].get<uint64_t>() == 0U);
    BOOST_TEST(us(r, "latency_us", "p50") >= 20'000.0, "p50 = " << us(r, "latency_us", "p50"));
    BOOST_TEST(us(r, "latency_us", "p99") >= 20'000.0, "p99 = " << us(r, "latency_us", "p99"));
    if (us(r, "latency_us", "p99") <= 30'000.0) break;
  }
  BOOST_TEST(us(r, "latency_us", "p50") <= 30'000.0, "p50 = " << us(r, "latency_us", "p50"));
  // The tail on a shared 2-core machine can reach tens of ms even after retries; what must
  // not happen is the growth of the over-capacity case (hundreds of ms): bound it at 200 ms.
  BOOST_TEST(us(r, "latency_us", "p99") <= 200'000.0, "p99 = " << us(r, "latency_us", "p99"));
  return r;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(loadgen)

BOOST_AUTO_TEST_CASE(closed_loop_percentiles_show_a_20ms_server) {
  json r = run_against_20ms(
      {"--mode", "roundtrip", "-c", "4", "-s", "64", "--duration", "1.5", "--warmup", "0.2"});
  BOOST_TEST(r["operations"].get<uint64_t>() > 100U);  // about 4 / 20 ms * 1.5 s = 300
  BOOST_TEST(!r.contains("rate"));
}

BOOST_AUTO_TEST_CASE(open_loop_below_capacity_shows_the_same_20ms) {
  // 4 connections can do 200/s; at 100/s each connection is idle 20 ms out of 40. 300
  // samples, so that p99 is not just the one worst.
  json r = run_against_20ms(
      {"-c", "4", "-s", "64", "--rate", "100", "--duration", "3", "--warmup", "0.2"});
  BOOST_TEST(r["rate"]["asked"].get<double>() == 100.0);
  BOOST_TEST(r["rate"]["fell_short"].get<bool>() == false);
}

BOOST_AUTO_TEST_CASE(open_loop_over_capacity_does_not_hide_the_queue) {
  TestServer server(delayed_echo(20ms));
  // One connection answers 50/s; asked 200/s, requests queue and wait longer and longer.
  auto [code, r] =
      run_loadgen(server.address(), {"-c", "1", "-s", "64", "--rate", "200", "--duration", "2"});
  BOOST_TEST(code == EX_OK);  // slow is not an error
  BOOST_TEST(r["rate"]["fell_short"].get<bool>() == true);
  BOOST_TEST(r["rate"]["achieved"].get<double>() < 100.0);
  // Request n waits about 15 ms * n: half a second and more, not the server's 20 ms.
  BOOST_TEST(us(r, "latency_us", "p50") > 200'000.0);
  BOOST_TEST(us(r, "latency_us", "p99") > us(r, "latency_us", "p50"));
}

BOOST_AUTO_TEST_CASE(resets_are_counted_as_server_errors) {
  TestServer server(reset_at_once);
  auto [code, r] = run_loadgen(server.address(), {"-c", "2", "--duration", "0.5"});
  BOOST_TEST(code == EX_TEMPFAIL);
  BOOST_TEST(r["errors"]["server"]["reset"].get<uint64_t>() > 0U);
  BOOST_TEST(r["errors"]["total"].get<uint64_t>() >=
             r["errors"]["server"]["reset"].get<uint64_t>());
  BOOST_TEST(r["operations"].get<uint64_t>() == 0U);
}

BOOST_AUTO_TEST_CASE(wrong_bytes_are_counted) {
  TestServer server(delayed_echo(0ms, true));
  auto [code, r] = run_loadgen(server.address(), {"-c", "2", "-s", "64", "--duration", "0.5"});
  BOOST_TEST(code == EX_TEMPFAIL);
  BOOST_TEST(r["errors"]["server"]["wrong_bytes"].get<uint64_t>() > 0U);
  BOOST_TEST(r["operations"].get<uint64_t>() == 0U);
}

BOOST_AUTO_TEST_CASE(refused_connections_are_counted) {
  std::string address;
  {
    TestServer gone(reset_at_once);
    address = gone.address();
  }  // closed: nothing listens on that port now
  auto [code, r] = run_loadgen(address, {"--mode", "connect", "-c", "1", "--duration", "0.3"});
  BOOST_TEST(code == EX_TEMPFAIL);
  BOOST_TEST(r["errors"]["server"]["refused"].get<uint64_t>() > 0U);
}

BOOST_AUTO_TEST_CASE(connect_mode_against_echo_server) {
  ServerProcess server("echo-server", {"--listen", "127.0.0.1:0", "--model", "thread"});
  auto [code, r] = run_loadgen(server.address(),
                               {"--mode", "connect", "-c", "4", "-s", "100", "--duration", "1"});
  BOOST_TEST(code == EX_OK);
  BOOST_TEST(r["mode"] == "connect");
  BOOST_TEST(r["operations"].get<uint64_t>() > 10U);
  // Every operation echoed its 100 bytes; the connections still busy when the run ended
  // may have received part of theirs without being counted as operations.
  uint64_t operations = r["operations"].get<uint64_t>();
  BOOST_TEST(r["bytes_received"].get<uint64_t>() >= operations * 100);
  BOOST_TEST(r["bytes_received"].get<uint64_t>() <= (operations + 4) * 100);
  BOOST_TEST(us(r, "connect_latency_us", "p50") > 0.0);
  BOOST_TEST(us(r, "latency_us", "p99") >= us(r, "latency_us", "p50"));
  BOOST_TEST(r["ops_per_s"].get<double>() > 0.0);
}

BOOST_AUTO_TEST_CASE(stream_mode_against_echo_server) {
  ServerProcess server("echo-server", {"--listen", "127.0.0.1:0", "--model", "thread"});
  auto [code, r] = run_loadgen(server.address(), {"--mode", "stream", "-c", "2", "-t", "2", "-s",
                                                  "65536", "--duration", "1"});
  BOOST_TEST(code == EX_OK);
  BOOST_TEST(r["threads"].get<int>() == 2);
  BOOST_TEST(r["errors"]["total"].get<uint64_t>() == 0U);
  BOOST_TEST(r["bytes_received"].get<uint64_t>() > 1'000'000U);
  BOOST_TEST(r["bytes_sent"].get<uint64_t>() >= r["bytes_received"].get<uint64_t>());
  BOOST_TEST(r["mb_per_s"]["received"].get<double>() > 1.0);
  // A stream has no requests to time: no latency, rather than a row of zeros.
  BOOST_TEST(r["latency_us"].is_null(), r.dump());
  BOOST_TEST(!r["connect_latency_us"].is_null(), r.dump());
}

BOOST_AUTO_TEST_CASE(idle_mode_holds_every_idle_connection) {
  // The thread model serves 128 clients by default; 200 idle ones and 2 active need more.
  ServerProcess server("echo-server",
                       {"--listen", "127.0.0.1:0", "--model", "thread", "--max-threads", "400"});
  auto [code, r] = run_loadgen(server.address(), {"--mode", "idle", "--idle", "200", "-c", "2",
                                                  "-t", "2", "--duration", "1", "--warmup", "0.3"});
  BOOST_TEST(code == EX_OK);
  BOOST_TEST(r["idle"]["held"].get<uint64_t>() == 200U);
  BOOST_TEST(r["idle"]["lost"].get<uint64_t>() == 0U);
  BOOST_TEST(r["operations"].get<uint64_t>() > 0U);
  BOOST_TEST(r["env"]["nofile_limit"].get<uint64_t>() >= 202U);
}

// A free block of `count` client ports below the kernel's ephemeral range (where port-0 binds
// and plain connects never go), at a random offset so that two test runs do not share it.
std::pair<int, int> spare_ports(int count) {
  static std::atomic<int> calls{0};
  int base = 20000 + (static_cast<int>(::getpid()) * 7 + calls++ * 997) % 10000;
  return {base, base + count - 1};
}

// The client ports the echo-server's debug log shows ("connection from 127.0.0.1:PORT").
std::vector<int> logged_client_ports(const std::string& log) {
  std::vector<int> ports;
  const std::string needle = "connection from 127.0.0.1:";
  for (size_t at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1))
    ports.push_back(std::stoi(log.substr(at + needle.size())));
  return ports;
}

BOOST_AUTO_TEST_CASE(source_ports_bind_each_connection_to_the_next_port_of_the_range) {
  ServerProcess server("echo-server",
                       {"--listen", "127.0.0.1:0", "--model", "thread", "--log-level", "debug"});
  auto [first, last] = spare_ports(200);
  std::string range = std::to_string(first) + "-" + std::to_string(last);
  // 100 connections/s for 0.5 s: fewer connections than ports, so no port is used twice.
  auto [code, r] =
      run_loadgen(server.address(), {"--mode", "connect", "-c", "2", "-t", "2", "--rate", "100",
                                     "--duration", "0.5", "--source-ports", range});
  BOOST_TEST(code == EX_OK);
  BOOST_TEST(r["errors"]["total"].get<uint64_t>() == 0U);
  uint64_t operations = r["operations"].get<uint64_t>();
  BOOST_TEST(operations >= 40U);
  BOOST_REQUIRE(server.wait_for_log("connection from 127.0.0.1:"));
  std::vector<int> ports = logged_client_ports(server.log());
  BOOST_TEST(ports.size() >= operations);
  std::set<int> distinct(ports.begin(), ports.end());
  BOOST_TEST(distinct.size() == ports.size(), "a port was used twice: " << server.log());
  for (int port : ports) BOOST_TEST((port >= first && port <= last), port << " not in " << range);
  // Two threads, two halves of the range, each taken from its start.
  BOOST_TEST(distinct.count(first) == 1U);
  BOOST_TEST(distinct.count(first + 100) == 1U);
}

// A port of the range held by a listener cannot be bound (EADDRINUSE): loadgen tries the next
// ones, and when none is free, counts the client's own shortage, not an error of the server.
BOOST_AUTO_TEST_CASE(source_ports_held_by_a_listener_are_client_errors) {
  ServerProcess server("echo-server", {"--listen", "127.0.0.1:0", "--model", "thread"});
  ServerProcess holder("echo-server", {"--listen", "127.0.0.1:0"});  // holds the one port
  std::string range = std::to_string(holder.port()) + "-" + std::to_string(holder.port());
  auto [code, r] = run_loadgen(server.address(), {"--mode", "connect", "-c", "1", "--duration",
                                                  "0.3", "--source-ports", range});
  BOOST_TEST(code == EX_TEMPFAIL);
  BOOST_TEST(r["operations"].get<uint64_t>() == 0U);
  BOOST_TEST(r["errors"]["client"]["eaddrnotavail"].get<uint64_t>() > 0U);
  BOOST_TEST(r["errors"]["server"]["refused"].get<uint64_t>() == 0U);
  BOOST_TEST(r["errors"]["server"]["reset"].get<uint64_t>() == 0U);
}

// Ports below net.ipv4.ip_unprivileged_port_start need a right an ordinary user lacks: said
// once at the start (exit 77), not counted as a client error per connection for the whole run.
BOOST_AUTO_TEST_CASE(source_ports_of_root_are_refused_up_front_without_the_right) {
  int unprivileged_start = std::stoi(file_text("/proc/sys/net/ipv4/ip_unprivileged_port_start"));
  if (unprivileged_start <= 901) return;  // every port is anyone's on this machine
  ServerProcess server("echo-server", {"--listen", "127.0.0.1:0", "--model", "thread"});
  RunResult run = run_unprivileged("loadgen", {server.address(), "--mode", "connect", "-c", "1",
                                               "--duration", "0.3", "--source-ports", "900-901"});
  BOOST_TEST(run.exit_code == EX_NOPERM, run.err);
  BOOST_TEST(run.err.find("port 900 needs root or CAP_NET_BIND_SERVICE") != std::string::npos,
             run.err);
}

BOOST_AUTO_TEST_CASE(numbers_out_of_range_are_usage_errors) {
  for (std::vector<std::string> bad : {std::vector<std::string>{"-c", "0"},
                                       {"-c", "-1"},
                                       {"-c", "100001"},
                                       {"-t", "65"},
                                       {"-s", "0"},
                                       {"-s", "67108865"},
                                       {"--idle", "5"},  // without --mode idle
                                       {"--rate", "-1"},
                                       {"--duration", "0"},
                                       {"--timeout", "-2"},
                                       {"--mode", "flood"},
                                       {"--source-ports", "0-10"},
                                       {"--source-ports", "2000-1000"},
                                       {"--source-ports", "2000"},
                                       {"--source-ports", "2000-70000"}}) {
    bad.insert(bad.begin(), "127.0.0.1:1");
    RunResult run = run_program("loadgen", bad);
    BOOST_TEST(run.exit_code == EX_USAGE, bad[1] << " " << bad[2] << ": " << run.err);
  }
  // Fewer ports than threads, and a unix socket (no ports to choose).
  RunResult few = run_program("loadgen", {"127.0.0.1:1", "-t", "4", "--source-ports", "2000-2002"});
  BOOST_TEST(few.exit_code == EX_USAGE, few.err);
  RunResult unix_socket =
      run_program("loadgen", {"unix:/nonexistent", "--source-ports", "2000-2002"});
  BOOST_TEST(unix_socket.exit_code == EX_USAGE, unix_socket.err);
}

BOOST_AUTO_TEST_SUITE_END()
