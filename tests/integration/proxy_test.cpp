// The PROXY protocol: servers behind a proxy see, log and limit the real client. First with
// headers written by the test (every model), then behind a real HAProxy running the shipped
// scripts/haproxy/haproxy.cfg: two echo-servers and a chat-server.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <csignal>
#include <filesystem>
#include <sstream>

#include "error.hpp"
#include "harness.hpp"
#include "peers.hpp"

namespace bdata = boost::unit_test::data;
using namespace sockserv;
using namespace sockserv::test;

// A named namespace: the data test cases' lambdas capture these types (-Wsubobject-linkage).
namespace proxy_test {

const auto kAllModels = bdata::make(all_models());

ServerProcess start_proxied_echo(const std::string& model, std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"--listen",    "127.0.0.1:0", "--model",          model,
                                "--log-level", "debug",       "--proxy-protocol", "--trusted-proxy",
                                "127.0.0.0/8"};
  std::vector<std::string> room = room_for(model, 4);
  args.insert(args.end(), room.begin(), room.end());
  args.insert(args.end(), extra.begin(), extra.end());
  return ServerProcess("echo-server", args);
}

std::string v1_header(const std::string& client_ip, uint16_t client_port) {
  return "PROXY TCP4 " + client_ip + " 127.0.0.1 " + std::to_string(client_port) + " 7\r\n";
}

// A v2 header naming 192.0.2.9:4242.
std::string v2_header() {
  std::string header("\r\n\r\n\0\r\nQUIT\n", 12);
  header += "\x21\x11";                                          // v2 PROXY, TCP over IPv4
  header += std::string("\x00\x0c", 2);                          // 12 bytes of addresses
  header += std::string("\xC0\x00\x02\x09\x7F\x00\x00\x01", 8);  // 192.0.2.9 -> 127.0.0.1
  header += std::string("\x10\x92\x00\x07", 4);                  // ports 4242 -> 7
  return header;
}

// The next line from `fd`, without its newline ("" when the server closed instead).
std::string read_line(int fd) {
  set_nonblocking(fd, true);  // so that the deadline holds: a blocking read would not return
  std::string line;
  char c = 0;
  while (line.size() < 4096) {
    if (read_some(fd, std::as_writable_bytes(std::span(&c, 1)), Deadline::after(10s)) == 0) {
      return "";
    }
    if (c == '\n') return line;
    line += c;
  }
  return line;
}

// Sends a line on a connection and returns the line echoed back ("" when closed instead).
std::string echo_line(int fd, const std::string& line) {
  write_all(fd, line + "\n", Deadline::after(10s));
  return read_line(fd);
}

// True when the server closed `fd` without a byte (a refused connection).
bool closed_without_reply(int fd) {
  try {
    return read_to_eof(fd, 10s).empty();
  } catch (const std::system_error&) {
    return true;  // a reset is a refusal too
  }
}

std::string haproxy_path() {
  for (const char* path : {"/usr/sbin/haproxy", "/usr/bin/haproxy"}) {
    if (::access(path, X_OK) == 0) return path;
  }
  return "";
}

bool ipv6_loopback_works() {
  UniqueFd probe(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in6 address{};
  address.sin6_family = AF_INET6;
  address.sin6_addr = in6addr_loopback;
  return probe && ::bind(probe.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
}

UniqueFd connect_tcp6(uint16_t port) {
  UniqueFd fd(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in6 address{};
  address.sin6_family = AF_INET6;
  address.sin6_addr = in6addr_loopback;
  address.sin6_port = htons(port);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) < 0) {
    throw_errno("connect [::1]");
  }
  return fd;
}

uint16_t local_port(int fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) < 0) {
    throw_errno("getsockname");
  }
  return ntohs(reinterpret_cast<sockaddr_in*>(&address)->sin_port);  // same offset in v6
}

// HAProxy's runtime API: the status column ("UP", "DOWN"...) of a server in "show stat".
std::string server_status(const std::string& admin_socket, const std::string& backend,
                          const std::string& server) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::snprintf(address.sun_path, sizeof address.sun_path, "%s", admin_socket.c_str());
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) < 0) return "";
  write_all(fd.get(), "show stat\n", Deadline::after(5s));
  std::istringstream csv(read_to_eof(fd.get(), 5s));
  std::string line;
  while (std::getline(csv, line)) {
    if (line.rfind(backend + "," + server + ",", 0) != 0) continue;
    // pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,
    // wretr,wredis,status,...: the 18th field.
    std::istringstream row(line);
    std::vector<std::string> fields;
    for (std::string field; std::getline(row, field, ',');) fields.push_back(field);
    return fields.size() > 17 ? fields[17] : "";
  }
  return "";
}

// The shipped configuration, run in the foreground with the test's addresses.
class Haproxy {
 public:
  Haproxy(const TempDir& dir, std::vector<std::string> env)
      : admin_socket_((dir.path / "admin.sock").string()),
        process_({haproxy_path(), "-db", "-f", source_dir() + "/scripts/haproxy/haproxy.cfg"},
                 with_admin(std::move(env))) {}
  std::string status(const std::string& backend, const std::string& server) const {
    return server_status(admin_socket_, backend, server);
  }
  std::string log() const { return process_.log(); }

 private:
  std::vector<std::string> with_admin(std::vector<std::string> env) const {
    env.push_back("SOCKSERV_HAPROXY_ADMIN=" + admin_socket_);
    return env;
  }
  std::string admin_socket_;
  Spawned process_;
};

}  // namespace proxy_test
using namespace proxy_test;

BOOST_AUTO_TEST_SUITE(proxy_protocol)

BOOST_DATA_TEST_CASE(v1_and_v2_name_the_client_and_the_data_follows, kAllModels, model) {
  ServerProcess server = start_proxied_echo(model);
  UniqueFd v1 = connect_tcp(server.port());
  write_all(v1.get(), v1_header("192.0.2.7", 5555));
  BOOST_TEST(echo_line(v1.get(), "after a v1 header") == "after a v1 header");
  BOOST_TEST(server.wait_for_log("connection from 192.0.2.7:5555 via proxy 127.0.0.1:"));
  v1.reset();  // the iterative model serves one connection at a time
  // The header and the first data in one segment: not a byte of the data may be lost.
  UniqueFd v2 = connect_tcp(server.port());
  write_all(v2.get(), v2_header() + "after a v2 header\n");
  BOOST_TEST(read_line(v2.get()) == "after a v2 header");
  BOOST_TEST(server.wait_for_log("connection from 192.0.2.9:4242 via proxy 127.0.0.1:"));
}

BOOST_DATA_TEST_CASE(per_source_limits_count_the_named_client, kAllModels, model) {
  if (model == "iterative") return;  // one connection at a time: nothing to count side by side
  TempDir dir("proxy-log");
  std::string access_log = (dir.path / "access.log").string();
  // (Under prefork, a counting limit makes the parent accept and pass each descriptor to a
  // worker: the client the header named must travel with it.)
  ServerProcess server =
      start_proxied_echo(model, {"--max-per-source", "1", "--access-log", access_log});
  // Every connection comes from the proxy's address, 127.0.0.1; the headers name clients.
  UniqueFd first = connect_tcp(server.port());
  write_all(first.get(), v1_header("192.0.2.7", 1000));
  BOOST_REQUIRE(echo_line(first.get(), "first") == "first");  // admitted, still open
  UniqueFd same_client = connect_tcp(server.port());
  write_all(same_client.get(), v1_header("192.0.2.7", 1001));
  BOOST_TEST(closed_without_reply(same_client.get()));
  UniqueFd other_client = connect_tcp(server.port());
  write_all(other_client.get(), v1_header("192.0.2.8", 1002));
  BOOST_TEST(echo_line(other_client.get(), "other") == "other");
  other_client.reset();
  // The line is written by whoever served the connection (a child, a worker, a loop).
  BOOST_TEST(eventually([&] {
               return dir.read("access.log").find("peer=192.0.2.8:1002 ") != std::string::npos;
             }),
             dir.read("access.log"));
}

BOOST_DATA_TEST_CASE(a_missing_or_bad_header_is_refused_and_serving_goes_on, kAllModels, model) {
  TempDir dir("proxy-bad");
  ServerProcess server =
      start_proxied_echo(model, {"--access-log", (dir.path / "access.log").string()});
  for (const std::string bad :
       {"hello\n", "PROXY TCP4 192.0.2.7 127.0.0.1 99999 7\r\n", "PROXY TCP9 nonsense\r\n"}) {
    UniqueFd client = connect_tcp(server.port());
    write_all(client.get(), bad);
    BOOST_TEST_INFO("sent: " << bad);
    BOOST_TEST(closed_without_reply(client.get()));
  }
  BOOST_TEST(server.wait_for_log("proxy protocol: "));
  UniqueFd good = connect_tcp(server.port());
  write_all(good.get(), v1_header("192.0.2.7", 5555));
  BOOST_TEST(echo_line(good.get(), "still serving") == "still serving");
  // The access log says why each was refused: the header, not an allow/deny rule.
  BOOST_TEST(eventually([&] {
               return dir.read("access.log").find("reason=proxy-header") != std::string::npos;
             }),
             dir.read("access.log"));
}

BOOST_AUTO_TEST_CASE(a_late_header_is_refused_at_its_deadline) {
  ServerProcess server = start_proxied_echo("thread");
  UniqueFd silent = connect_tcp(server.port());
  auto start = Clock::now();
  BOOST_TEST(closed_without_reply(silent.get()));
  BOOST_TEST((Clock::now() - start < 9s));  // the header deadline (2 s), not the idle timeout
  BOOST_TEST(server.wait_for_log("no complete PROXY header within"));
}

BOOST_AUTO_TEST_CASE(an_untrusted_peer_is_refused) {
  TempDir dir("proxy-untrusted");
  ServerProcess server("echo-server",
                       {"--listen", "127.0.0.1:0", "--proxy-protocol", "--trusted-proxy",
                        "192.0.2.0/24", "--access-log", (dir.path / "access.log").string()});
  UniqueFd client = connect_tcp(server.port());
  write_all(client.get(), v1_header("198.51.100.1", 5555) + "hello\n");
  BOOST_TEST(closed_without_reply(client.get()));
  BOOST_TEST(server.wait_for_log("127.0.0.1:"));
  BOOST_TEST(server.wait_for_log("not a --trusted-proxy"));
  BOOST_TEST(eventually([&] {
               return dir.read("access.log").find("reason=untrusted-proxy") != std::string::npos;
             }),
             dir.read("access.log"));
}

BOOST_AUTO_TEST_CASE(proxy_options_need_each_other) {
  RunResult alone =
      run_program(bin_path("echo-server"), {"--listen", "127.0.0.1:0", "--proxy-protocol"});
  BOOST_TEST(alone.exit_code == 64);
  BOOST_TEST(alone.err.find("--trusted-proxy") != std::string::npos);
  RunResult trust_only = run_program(bin_path("echo-server"),
                                     {"--listen", "127.0.0.1:0", "--trusted-proxy", "127.0.0.1"});
  BOOST_TEST(trust_only.exit_code == 64);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(behind_haproxy)

BOOST_AUTO_TEST_CASE(echo_instances_see_the_client_and_one_can_die) {
  BOOST_REQUIRE_MESSAGE(!haproxy_path().empty(), "haproxy is not installed: scripts/install-deps");
  TempDir dir("haproxy");
  ServerProcess echo1 = start_proxied_echo("fork");
  ServerProcess echo2 = start_proxied_echo("epoll");
  uint16_t front = free_port();
  Haproxy haproxy(dir, {"SOCKSERV_ECHO_FRONT=127.0.0.1:" + std::to_string(front),
                        "SOCKSERV_ECHO_1=" + echo1.address(), "SOCKSERV_ECHO_2=" + echo2.address(),
                        "SOCKSERV_CHAT_FRONT=127.0.0.1:" + std::to_string(free_port()),
                        "SOCKSERV_CHAT_1=127.0.0.1:1"});
  BOOST_REQUIRE_MESSAGE(eventually(
                            [&] {
                              return haproxy.status("echo", "echo1") == "UP" &&
                                     haproxy.status("echo", "echo2") == "UP";
                            },
                            15s),
                        "haproxy never reported both echo servers up: " << haproxy.log());

  // The instance that serves a client logs the client's own port, not the proxy's.
  UniqueFd client = connect_tcp(front);
  BOOST_TEST(echo_line(client.get(), "through the proxy") == "through the proxy");
  std::string seen = "connection from 127.0.0.1:" + std::to_string(local_port(client.get())) +
                     " via proxy 127.0.0.1:";
  BOOST_TEST(eventually([&] {
    return echo1.log().find(seen) != std::string::npos ||
           echo2.log().find(seen) != std::string::npos;
  }));
  client.reset();

  // One instance dies. Once the health check has noticed, no new client is lost.
  BOOST_TEST(echo1.stop(SIGKILL) == -1);
  BOOST_REQUIRE_MESSAGE(
      eventually([&] { return haproxy.status("echo", "echo1").rfind("DOWN", 0) == 0; }, 15s),
      "haproxy never noticed echo1 is gone: " << haproxy.status("echo", "echo1"));
  size_t served = 0;
  for (int i = 0; i < 30; ++i) {
    UniqueFd next = connect_tcp(front);
    if (echo_line(next.get(), "client " + std::to_string(i)) == "client " + std::to_string(i)) {
      ++served;
    }
  }
  BOOST_TEST(served == 30U);
}

BOOST_AUTO_TEST_CASE(chat_limits_count_the_real_client_not_the_proxy) {
  BOOST_REQUIRE_MESSAGE(!haproxy_path().empty(), "haproxy is not installed: scripts/install-deps");
  TempDir dir("haproxy");
  ServerProcess chat("chat-server",
                     {"--listen", "127.0.0.1:0", "--model", "thread", "--log-level", "debug",
                      "--proxy-protocol", "--trusted-proxy", "127.0.0.1", "--max-per-source", "1"});
  uint16_t front = free_port();
  bool v6 = ipv6_loopback_works();
  std::string fronts = "127.0.0.1:" + std::to_string(front);
  if (v6) fronts += ",[::1]:" + std::to_string(front);
  Haproxy haproxy(dir, {"SOCKSERV_CHAT_FRONT=" + fronts, "SOCKSERV_CHAT_1=" + chat.address(),
                        "SOCKSERV_ECHO_FRONT=127.0.0.1:" + std::to_string(free_port()),
                        "SOCKSERV_ECHO_1=127.0.0.1:1", "SOCKSERV_ECHO_2=127.0.0.1:2"});
  BOOST_REQUIRE(eventually([&] { return haproxy.status("chat", "chat1") == "UP"; }, 15s));

  // The first member from 127.0.0.1. (HAProxy's own health checks come from 127.0.0.1 too
  // and count while they last, a millisecond: a member refused during one tries again.)
  UniqueFd first;
  for (int attempt = 0; attempt < 5 && !first; ++attempt) {
    UniqueFd member = connect_tcp(front);
    if (!read_line(member.get()).empty()) first = std::move(member);  // the greeting
  }
  BOOST_REQUIRE_MESSAGE(first, "no member from 127.0.0.1 got in: " << chat.log());
  std::string seen = "connection from 127.0.0.1:" + std::to_string(local_port(first.get())) +
                     " via proxy 127.0.0.1:";
  BOOST_TEST(chat.wait_for_log(seen));
  // A second member from the same client is over --max-per-source 1...
  UniqueFd second = connect_tcp(front);
  BOOST_TEST(closed_without_reply(second.get()));
  // ...but a member from another client gets in, though the proxy's address is the same.
  if (v6) {
    UniqueFd other = connect_tcp6(front);
    BOOST_TEST(!read_line(other.get()).empty());
    BOOST_TEST(chat.wait_for_log("connection from [::1]:"));
  } else {
    BOOST_TEST_MESSAGE("no ::1 here: the second client address is not tested");
  }
}

BOOST_AUTO_TEST_SUITE_END()
