// Activation and administration: the shipped systemd units under the real
// systemd-socket-activate, the shipped inetd lines under openbsd-inetd and xinetd, inetd's
// fd 0 in all its forms, sd_notify, journald and syslog logging, privilege drop, and the
// access rules and limits (--allow-from, --deny-from, --max-per-source, --max-rate).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "error.hpp"
#include "harness.hpp"
#include "peers.hpp"
#include "run.hpp"

namespace bdata = boost::unit_test::data;
namespace fs = std::filesystem;
using namespace sockserv;
using namespace sockserv::test;

namespace {

std::string unit_path(const std::string& name) {
  return source_dir() + "/scripts/systemd/" + name;
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

// The ExecStart= words of a shipped unit, with the program taken from the build, run inside
// the unit's sandbox as far as it works without systemd (systemd-socket-activate applies
// none of it): scripts/systemd/run-sandboxed gives the server the unit's system-call filter
// (a call outside it kills the server), its empty network namespace, MemoryDenyWriteExecute,
// NoNewPrivileges, no capabilities, and for DynamicUser=yes user nobody.
std::vector<std::string> exec_start(const std::string& unit, const std::string& program) {
  auto keys = unit_keys(unit_path(unit));
  std::vector<std::string> words = split_words(keys["ExecStart"].at(0));
  words.at(0) = bin_path(program);
  words.insert(words.begin(),
               {source_dir() + "/scripts/systemd/run-sandboxed", unit_path(unit), "--"});
#if defined(__SANITIZE_ADDRESS__)
  // LeakSanitizer's check at exit stops the threads with ptrace(2), which no unit's
  // SystemCallFilter= allows: the filter kills the server as it exits. Here, in a sanitizer
  // build, it runs without that check (the other suites check leaks; this one the sandbox).
  words.insert(words.begin(), {"env", "ASAN_OPTIONS=detect_leaks=0"});
#endif
  return words;
}

// Copies of every shipped unit of a built server into `dir`, their ExecStart= naming the
// build's programs (the shipped ones name /usr/local/bin, where nothing may be installed).
std::vector<fs::path> units_with_built_programs(const TempDir& dir) {
  std::vector<fs::path> units;
  for (const ServiceRow& row : built_services()) {
    for (const char* suffix : {".socket", ".service", "-accept.socket", "-accept@.service"}) {
      fs::path shipped = unit_path(row.name + suffix);
      if (!fs::exists(shipped)) continue;
      std::string text = replace_all(file_text(shipped), "/usr/local/bin/", bin_path(""));
      std::ofstream(dir.path / shipped.filename()) << text;
      units.push_back(dir.path / shipped.filename());
    }
  }
  return units;
}

// The figure of "→ Overall exposure level for NAME: 0.6 SAFE" (-1 when there is none).
double overall_exposure(const std::string& report) {
  std::string marker = "Overall exposure level for ";
  size_t at = report.find(marker);
  if (at == std::string::npos) return -1;
  at = report.find(": ", at);
  return at == std::string::npos ? -1 : std::strtod(report.c_str() + at + 2, nullptr);
}

std::vector<std::string> activate_command(uint16_t port, const std::vector<std::string>& flags,
                                          const std::vector<std::string>& program) {
  std::vector<std::string> argv{"systemd-socket-activate", "-l",
                                "127.0.0.1:" + std::to_string(port)};
  argv.insert(argv.end(), flags.begin(), flags.end());
  argv.insert(argv.end(), program.begin(), program.end());
  return argv;
}

std::string xinetd_path() {
  const char* dir = std::getenv("SOCKSERV_PEERS");
  return std::string(dir != nullptr ? dir : "build/peers") + "/xinetd/usr/sbin/xinetd";
}

boost::test_tools::assertion_result have_xinetd(boost::unit_test::test_unit_id) {
  boost::test_tools::assertion_result result(::access(xinetd_path().c_str(), X_OK) == 0);
  result.message() << "no xinetd at " << xinetd_path() << " (scripts/fetch-peers gets it)";
  return result;
}

boost::test_tools::assertion_result have_root(boost::unit_test::test_unit_id) {
  boost::test_tools::assertion_result result(::geteuid() == 0);
  result.message() << "privilege drop and inetd's user switch need root";
  return result;
}

// The value of every "\tport\t\t= N" line of an xinetd file becomes `port`.
std::string with_port(const std::string& text, uint16_t port) {
  std::istringstream in(text);
  std::string out, line;
  while (std::getline(in, line)) {
    out +=
        (line.rfind("\tport\t\t= ", 0) == 0 ? "\tport\t\t= " + std::to_string(port) : line) + "\n";
  }
  return out;
}

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// True when the server closed the connection at once without a byte: a refusal.
bool refused(uint16_t port) {
  UniqueFd fd = connect_tcp(port);
  try {
    return read_to_eof(fd.get(), 5000ms).empty();
  } catch (const TimeoutError&) {
    return false;  // still open: the server is serving it
  } catch (const std::system_error&) {
    return true;  // reset
  }
}

// True when the echo server echoes `text` (false when it refused or reset us).
bool echoes(uint16_t port, const std::string& text) {
  try {
    return test::exchange(port, text, 10000ms) == text;
  } catch (const std::system_error&) {
    return false;
  }
}

// A connection that the echo server is serving right now (one round trip done).
UniqueFd served_connection(uint16_t port) {
  UniqueFd fd = connect_tcp(port);
  write_all(fd.get(), std::string("ping"), Deadline::after(5000ms));
  std::array<std::byte, 4> reply;
  set_nonblocking(fd.get(), true);
  read_full(fd.get(), reply, Deadline::after(5000ms));
  return fd;
}

// What systemd would be for a Type=notify service: a datagram socket named by NOTIFY_SOCKET.
struct NotifyListener {
  NotifyListener() : dir("notify"), path((dir.path / "notify").string()) {
    SocketAddress address = unix_address(path);
    if (::bind(socket.get(), address.get(), address.length) < 0) throw_errno("bind " + path);
  }
  std::string env() const { return "NOTIFY_SOCKET=" + path; }
  /// The datagrams that have arrived since the last call, without waiting.
  std::vector<std::string> take() {
    std::vector<std::string> messages;
    char buffer[4096];
    ssize_t n;
    while ((n = ::recv(socket.get(), buffer, sizeof buffer, MSG_DONTWAIT)) > 0)
      messages.emplace_back(buffer, static_cast<size_t>(n));
    return messages;
  }
  TempDir dir;
  std::string path;
  UniqueFd socket{::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
};

}  // namespace

BOOST_AUTO_TEST_SUITE(activation)

BOOST_AUTO_TEST_CASE(shipped_units_pass_systemd_analyze_verify) {
  TempDir dir("units");
  std::vector<std::string> argv{"systemd-analyze", "verify"};
  for (const fs::path& unit : units_with_built_programs(dir)) argv.push_back(unit.string());
  BOOST_TEST_REQUIRE(argv.size() > 2u);
  Spawned verify(argv);
  BOOST_TEST(verify.wait_exit(60000ms) == 0);
  BOOST_TEST(verify.log() == "", "systemd-analyze verify said: " << verify.log());
}

// Gate 13: every shipped service unit is "SAFE" (exposure at most 1.0 of 10). Socket units
// are not scored: systemd-analyze security judges only what a service process may do.
BOOST_AUTO_TEST_CASE(shipped_services_score_safe_in_systemd_analyze_security) {
  TempDir dir("security");
  size_t scored = 0;
  for (const fs::path& unit : units_with_built_programs(dir)) {
    if (unit.extension() != ".service") continue;
    BOOST_TEST_CONTEXT(unit.filename().string()) {
      // --threshold counts in tenths: 10 is the 1.0 of the report.
      Spawned security({"systemd-analyze", "security", "--offline=yes", "--threshold=10",
                        "--no-pager", unit.string()});
      BOOST_TEST(security.wait_exit(60000ms) == 0, security.log());
      double exposure = overall_exposure(security.log());
      BOOST_TEST(exposure >= 0.0, security.log());
      BOOST_TEST(exposure <= 1.0, security.log());
      ++scored;
    }
  }
  size_t expected = 0;
  for (const ServiceRow& row : built_services()) expected += row.accept ? 2 : 1;
  BOOST_TEST(scored == expected);
}

// The filters hold every call the servers made under the tests (strace over the suites by
// scripts/systemd/derive-syscalls, output in scripts/systemd/syscalls/): a call missing
// here would fail with EPERM under systemd.
BOOST_AUTO_TEST_CASE(shipped_syscall_filters_allow_every_call_the_tests_made) {
  Spawned check({source_dir() + "/scripts/systemd/derive-syscalls", "--check", bin_path("")});
  BOOST_TEST(check.wait_exit(60000ms) == 0, check.log());
}

// cmd-server is bound to 127.0.0.1; its socket units also refuse every other peer in the
// kernel (IPAddressDeny=), and its service, like every service, has no network of its own.
BOOST_AUTO_TEST_CASE(loopback_services_filter_peers_in_their_socket_units) {
  size_t loopback = 0;
  for (const ServiceRow& row : built_services()) {
    for (const char* suffix : {".socket", "-accept.socket"}) {
      fs::path path = unit_path(row.name + suffix);
      if (!fs::exists(path)) continue;
      auto keys = unit_keys(path.string());
      if (keys["ListenStream"].at(0).rfind("127.0.0.1:", 0) != 0) continue;
      BOOST_TEST_CONTEXT(path.filename().string()) {
        BOOST_TEST(keys["IPAddressAllow"] == std::vector<std::string>{"localhost"});
        BOOST_TEST(keys["IPAddressDeny"] == std::vector<std::string>{"any"});
        ++loopback;
      }
    }
    auto service = unit_keys(unit_path(row.name + ".service"));
    BOOST_TEST(service["PrivateNetwork"] == std::vector<std::string>{"yes"}, row.name);
    BOOST_TEST(service["IPAddressDeny"] == std::vector<std::string>{"any"}, row.name);
  }
  BOOST_TEST(loopback > 0u, "no service bound to loopback was built (cmd-server)");
}

BOOST_AUTO_TEST_CASE(shipped_files_are_what_services_tsv_says) {
  Spawned check({source_dir() + "/scripts/gen-units", "--check"});
  BOOST_TEST(check.wait_exit(30000ms) == 0, check.log());
}

BOOST_AUTO_TEST_CASE(install_puts_programs_man_pages_units_and_snippets_in_place) {
  TempDir stage("install");
  Spawned install(
      {source_dir() + "/scripts/install", stage.path.string(), "/opt/sockserv", bin_path("")});
  BOOST_TEST_REQUIRE(install.wait_exit(120000ms) == 0, install.log());
  fs::path root = stage.path / "opt/sockserv";
  BOOST_TEST(::access((root / "bin/echo-server").c_str(), X_OK) == 0);
  BOOST_TEST(
      file_text((root / "share/man/man1/echo-server.1").string()).find(".TH ECHO-SERVER \"1\"") !=
      std::string::npos);
  BOOST_TEST(file_text((root / "share/man/man1/echo-server.1").string()).find("allow\\-from") !=
             std::string::npos);
  // The shipped /usr/local paths follow PREFIX.
  BOOST_TEST(file_text((root / "lib/systemd/system/echo-server.service").string())
                 .find("ExecStart=/opt/sockserv/bin/echo-server ") != std::string::npos);
  BOOST_TEST(fs::exists(root / "lib/systemd/system/echo-server-accept@.service"));
  BOOST_TEST(file_text((root / "share/sockserv/inetd/inetd.conf").string())
                 .find("/opt/sockserv/bin/echo-server\techo-server --inetd") != std::string::npos);
  BOOST_TEST(file_text((root / "share/sockserv/inetd/xinetd.d/echo-server").string())
                 .find("server\t\t= /opt/sockserv/bin/echo-server") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(listen_fds_of_another_process_are_ignored) {
  // LISTEN_PID names the process the fds are for; a child that inherited the variables
  // must not take fd 3 for its own (sd_listen_fds checks), and serves its --listen instead.
  ServerProcess server("echo-server", {"--listen", "127.0.0.1:0"},
                       {"LISTEN_PID=1", "LISTEN_FDS=1"});
  BOOST_TEST(server.log().find("socket from systemd") == std::string::npos, server.log());
  BOOST_TEST(test::exchange(server.port(), "standalone") == "standalone");
}

BOOST_AUTO_TEST_CASE(accept_no_units_under_systemd_socket_activate) {
  std::vector<ServiceRow> rows = built_services();
  BOOST_TEST_REQUIRE(!rows.empty());
  for (const ServiceRow& row : rows) {
    BOOST_TEST_CONTEXT(row.name + ".socket + " + row.name + ".service") {
      auto socket = unit_keys(unit_path(row.name + ".socket"));
      std::string fdname = "--fdname=" + socket["FileDescriptorName"].at(0);
      std::vector<std::string> program = exec_start(row.name + ".service", row.name);
      uint16_t port = free_port();
      Spawned stream(activate_command(port, {fdname}, program));
      BOOST_TEST_REQUIRE(stream.wait_for_log("Listening on"));
      std::string why;
      BOOST_TEST(probe_tcp(row.probe, port, why), why);
      BOOST_TEST(probe_tcp(row.probe, port, why), "second client: " << why);
      // LISTEN_FDNAMES reached the server: it names the socket after the unit's setting.
      BOOST_TEST(stream.wait_for_log("socket from systemd (" + row.name + ")"), stream.log());
      if (socket.count("ListenDatagram") != 0U) {
        uint16_t udp_port = free_port();
        Spawned dgram(activate_command(udp_port, {"--datagram", fdname}, program));
        BOOST_TEST_REQUIRE(dgram.wait_for_log("Listening on"));
        BOOST_TEST(probe_udp(row.probe, udp_port, why), why << "\n" << dgram.log());
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(accept_yes_units_under_systemd_socket_activate) {
  size_t tested = 0;
  for (const ServiceRow& row : built_services()) {
    if (!row.accept) continue;
    BOOST_TEST_CONTEXT(row.name + "-accept.socket + " + row.name + "-accept@.service") {
      BOOST_TEST(unit_keys(unit_path(row.name + "-accept.socket"))["Accept"].at(0) == "yes");
      uint16_t port = free_port();
      Spawned activator(activate_command(port, {"--accept"},
                                         exec_start(row.name + "-accept@.service", row.name)));
      BOOST_TEST_REQUIRE(activator.wait_for_log("Listening on"));
      std::string why;
      BOOST_TEST(probe_tcp(row.probe, port, why), why);
      // One process per connection: it served the one connection and exited with 0.
      BOOST_TEST(activator.wait_for_log("died with code 0"), activator.log());
      ++tested;
    }
  }
  BOOST_TEST(tested > 0u);
}

BOOST_AUTO_TEST_CASE(inetd_flag_serves_the_connection_on_fd_0) {
  uint16_t port = free_port();
  Spawned activator(
      activate_command(port, {"--inetd", "--accept"}, {bin_path("echo-server"), "--inetd"}));
  BOOST_TEST_REQUIRE(activator.wait_for_log("Listening on"));
  std::string data = random_bytes(200'000, 5);
  BOOST_TEST(test::exchange(port, data) == data);
  BOOST_TEST(activator.wait_for_log("died with code 0"), activator.log());
}

BOOST_AUTO_TEST_CASE(log_lines_stay_out_of_a_connection_passed_as_stderr_too) {
  // openbsd-inetd and xinetd put the client on fds 0, 1 and 2. Running as root, the server
  // has a warning to log: it must go to syslog, not into the client's echo.
  int pair[2];
  BOOST_TEST_REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0);
  UniqueFd ours(pair[0]), theirs(pair[1]);
  Spawned server({bin_path("echo-server"), "--inetd"}, {}, theirs.get(), /*on_all_three=*/true);
  theirs.reset();
  write_all(ours.get(), std::string("only this"), Deadline::after(5000ms));
  ::shutdown(ours.get(), SHUT_WR);
  BOOST_TEST(read_to_eof(ours.get(), 10000ms) == "only this");
  BOOST_TEST(server.wait_exit() == 0);
}

BOOST_AUTO_TEST_CASE(listening_socket_on_fd_0_is_detected_and_served) {
  // inetd "stream wait": the server gets the listening socket itself and accepts on it.
  Listener listener = open_listener(parse_endpoint("127.0.0.1:0"), SocketOptions{});
  uint16_t port = listener.local().port();
  Spawned server({bin_path("echo-server"), "--inetd", "--model", "thread"}, {}, listener.fd());
  BOOST_TEST_REQUIRE(server.wait_for_log("socket from inetd"), server.log());
  for (int i = 0; i < 3; ++i) BOOST_TEST(test::exchange(port, "wait mode\n") == "wait mode\n");
  ::kill(server.pid(), SIGTERM);
  BOOST_TEST(server.wait_exit() == 0);
}

BOOST_AUTO_TEST_CASE(udp_socket_on_fd_0_is_served_until_idle) {
  Listener listener = open_listener(parse_endpoint("udp:127.0.0.1:0"), SocketOptions{});
  uint16_t port = listener.local().port();
  Spawned server({bin_path("echo-server"), "--inetd", "--exit-idle", "1"}, {}, listener.fd());
  UniqueFd client = udp_socket();
  BOOST_TEST(udp_exchange(client.get(), port, "dgram wait") == "dgram wait");
  // No more datagrams: after a second of quiet it exits, and inetd would listen again.
  BOOST_TEST(server.wait_exit(15000ms) == 0);
  BOOST_TEST(server.log().find("idle for 1s") != std::string::npos, server.log());
}

// inetd "stream wait" (chat-server's shipped line): the server holds inetd's listening socket
// and, like the udp one, gives it back after --exit-idle without a client. It does not count
// a connection still open as idle, whoever accepted it: the main loop (fork), pool workers
// (prefork) or event loops (epoll). Before, a wait-mode server never ended and outlived inetd.
BOOST_DATA_TEST_CASE(listening_socket_on_fd_0_is_given_back_after_exit_idle,
                     bdata::make(std::vector<std::string>{"fork", "prefork", "epoll"}), model) {
  Listener listener = open_listener(parse_endpoint("127.0.0.1:0"), SocketOptions{});
  uint16_t port = listener.local().port();
  // --max-per-source 0: two workers would default to one connection per address, and the
  // held connection may arrive before the first one's slot is given back.
  Spawned server({bin_path("echo-server"), "--inetd", "--model", model, "--exit-idle", "1",
                  "--workers", "2", "--max-per-source", "0"},
                 {}, listener.fd());
  BOOST_TEST_REQUIRE(server.wait_for_log("socket from inetd"), server.log());
  BOOST_TEST(test::exchange(port, "wait mode\n") == "wait mode\n");
  // A connection open for longer than --exit-idle keeps the server.
  UniqueFd held = connect_tcp(port);
  write_all(held.get(), "first\n");
  char reply[6];
  read_full(held.get(), std::as_writable_bytes(std::span(reply)), Deadline::after(10000ms));
  struct timespec two_seconds {
    2, 0
  };
  ::nanosleep(&two_seconds, nullptr);
  BOOST_TEST(server.running(), server.log());
  write_all(held.get(), "still\n");
  read_full(held.get(), std::as_writable_bytes(std::span(reply)), Deadline::after(10000ms));
  BOOST_TEST(std::string(reply, 6) == "still\n");
  held.reset();
  // No client any more: after a second it exits, and inetd would listen again.
  BOOST_TEST(server.wait_exit(15000ms) == 0, server.log());
  BOOST_TEST(server.log().find("idle for 1s") != std::string::npos, server.log());
}

BOOST_AUTO_TEST_CASE(connected_socket_needs_a_stream_service) {
  // fd 0 that is not a socket at all: a clear usage error, not a crash.
  Spawned server({bin_path("echo-server"), "--inetd"});
  BOOST_TEST(server.wait_exit() == EX_USAGE);
  BOOST_TEST(server.log().find("standard input is not a socket") != std::string::npos,
             server.log());
}

BOOST_AUTO_TEST_CASE(openbsd_inetd_serves_the_shipped_lines,
                     *boost::unit_test::precondition(have_root)) {
  TempDir dir("inetd");
  std::map<std::string, ServiceRow> rows;
  for (const ServiceRow& row : built_services()) rows[row.name] = row;
  std::map<std::string, uint16_t> ports;
  std::ostringstream config;
  std::vector<std::pair<ServiceRow, std::string>> lines;  // the service and its socket type
  std::vector<uint16_t> spare = free_ports(rows.size());  // one per service, all different
  std::istringstream shipped(file_text(source_dir() + "/scripts/inetd/inetd.conf"));
  std::string line;
  while (std::getline(shipped, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> f = split_words(line, "\t");
    std::string name = fs::path(f.at(5)).filename();
    if (rows.count(name) == 0U) continue;
    if (ports.count(name) == 0U) ports[name] = spare.at(ports.size());
    // Only the address and the program's directory change: 127.0.0.1 and a free port.
    f[0] = "127.0.0.1:" + std::to_string(ports[name]);
    f[5] = bin_path(name);
    for (size_t i = 0; i < f.size(); ++i)
      config << f[i] << (i + 1 < f.size() ? (i < 6 ? "\t" : " ") : "\n");
    lines.emplace_back(rows[name], f[1]);
  }
  BOOST_TEST_REQUIRE(!lines.empty());
  std::ofstream(dir.path / "inetd.conf") << config.str();
  Spawned inetd({"inetd", "-d", (dir.path / "inetd.conf").string()});
  BOOST_TEST_REQUIRE(eventually([&] { return count(inetd.log(), "\n") >= lines.size(); }, 10000ms),
                     inetd.log());
  for (const auto& [row, type] : lines) {
    BOOST_TEST_CONTEXT("inetd.conf: " << row.name << " " << type) {
      std::string why;
      uint16_t port = ports[row.name];
      BOOST_TEST(
          (type == "stream" ? probe_tcp(row.probe, port, why) : probe_udp(row.probe, port, why)),
          why << "\n"
              << inetd.log());
    }
  }
}

BOOST_AUTO_TEST_CASE(xinetd_serves_the_shipped_files,
                     *boost::unit_test::precondition(have_xinetd) *
                         boost::unit_test::precondition(have_root)) {
  TempDir dir("xinetd");
  fs::create_directories(dir.path / "xinetd.d");
  std::vector<std::pair<ServiceRow, uint16_t>> services;
  std::vector<ServiceRow> rows = built_services();
  std::vector<uint16_t> spare = free_ports(rows.size());  // one per service, all different
  for (const ServiceRow& row : rows) {
    uint16_t port = spare.at(services.size());
    std::string text = file_text(source_dir() + "/scripts/inetd/xinetd.d/" + row.name);
    // Rewritten: the port, 127.0.0.1 only, the build's program, and no tcp wrappers (this
    // machine's hosts.allow is not the test's business).
    text = with_port(text, port);
    text = replace_all(text, "/usr/local/bin/", bin_path(""));
    if (text.find("\tbind\t") == std::string::npos)
      text = replace_all(text, "\tdisable", "\tbind\t\t= 127.0.0.1\n\tdisable");
    text = replace_all(text, "\tdisable", "\tflags\t\t= NOLIBWRAP\n\tdisable");
    std::ofstream(dir.path / "xinetd.d" / row.name) << text;
    services.emplace_back(row, port);
  }
  std::ofstream(dir.path / "xinetd.conf")
      << "defaults\n{\n\tlog_type = FILE " << (dir.path / "xinetd.log").string()
      << "\n}\nincludedir " << (dir.path / "xinetd.d").string() << "\n";
  Spawned xinetd({xinetd_path(), "-dontfork", "-stayalive", "-f",
                  (dir.path / "xinetd.conf").string(), "-pidfile",
                  (dir.path / "xinetd.pid").string()});
  // xinetd reports to syslog, not here: it is ready when it accepts on every port.
  BOOST_TEST_REQUIRE(eventually(
                         [&] {
                           for (const auto& entry : services) {
                             try {
                               connect_tcp(entry.second);
                             } catch (const std::system_error&) {
                               return false;
                             }
                           }
                           return true;
                         },
                         15000ms),
                     xinetd.log());
  for (const auto& [row, port] : services) {
    BOOST_TEST_CONTEXT("xinetd.d/" << row.name) {
      std::string why;
      BOOST_TEST(probe_tcp(row.probe, port, why), why);
      if (row.udp) BOOST_TEST(probe_udp(row.probe, port, why), "udp: " << why);
    }
  }
}

BOOST_AUTO_TEST_CASE(sd_notify_ready_status_and_stopping) {
  NotifyListener notify;
  std::string received;
  auto heard = [&](const std::string& needle) {
    return eventually(
        [&] {
          for (const std::string& message : notify.take()) received += message + "\n";
          return received.find(needle) != std::string::npos;
        },
        10000ms);
  };
  ServerProcess server("echo-server", {"--listen", "127.0.0.1:0", "--model", "fork"},
                       {notify.env()});
  BOOST_TEST(heard("READY=1\nSTATUS=serving; 0 requests in flight (model=fork)"), received);
  {
    UniqueFd a = served_connection(server.port());
    UniqueFd b = served_connection(server.port());
    BOOST_TEST(heard("STATUS=serving; 2 requests in flight"), received);
  }
  BOOST_TEST(heard("STATUS=serving; 0 requests in flight"), received);
  BOOST_TEST(server.stop() == 0);
  BOOST_TEST(heard("STOPPING=1\nSTATUS=stopping;"), received);
}

// A busy server must not send systemd (process 1) a STATUS= per connection start and end:
// at most one a second, and the last count still arrives once the clients are gone.
BOOST_AUTO_TEST_CASE(sd_notify_status_is_sent_at_most_once_a_second) {
  NotifyListener notify;
  std::vector<std::string> messages;
  auto collect = [&] {
    for (std::string& message : notify.take()) messages.push_back(std::move(message));
  };
  ServerProcess server("echo-server", {"--listen", "127.0.0.1:0", "--model", "thread"},
                       {notify.env()});
  auto start = std::chrono::steady_clock::now();
  constexpr int kClients = 40;
  for (int i = 0; i < kClients; ++i) served_connection(server.port());  // each closed at once
  auto busy = std::chrono::steady_clock::now() - start;
  // The final count comes at the end of the second that held it back.
  auto last_is_zero = [&] {
    collect();
    return !messages.empty() &&
           messages.back().find("STATUS=serving; 0 requests in flight") != std::string::npos;
  };
  BOOST_TEST(eventually(last_is_zero, 5000ms));
  size_t statuses = 0;
  for (const std::string& m : messages)
    if (m.find("READY=1") == std::string::npos) ++statuses;
  // 80 changes of the count; at most one message per started second, plus the held one.
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(busy).count();
  BOOST_TEST(statuses <= static_cast<size_t>(seconds) + 2,
             statuses << " STATUS= in " << seconds << " s");
  BOOST_TEST(statuses >= 1u);
  BOOST_TEST(server.stop() == 0);
}

BOOST_AUTO_TEST_CASE(journald_prefixes_when_journal_stream_is_set) {
  ServerProcess server("echo-server", {"--listen", "127.0.0.1:0"}, {"JOURNAL_STREAM=8:12345"});
  BOOST_TEST(server.log().find("<6>listening on 127.0.0.1:") != std::string::npos, server.log());
  BOOST_TEST(server.log().find("echo-server[") == std::string::npos, server.log());
}

// True when no syslog daemon answers on /dev/log; a socket file left by an interrupted run
// (nobody answers) is removed. A live daemon is left alone and the test is skipped.
boost::test_tools::assertion_result dev_log_is_free(boost::unit_test::test_unit_id) {
  if (!fs::exists("/dev/log")) return true;
  UniqueFd probe(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  SocketAddress address = unix_address("/dev/log");
  if (::connect(probe.get(), address.get(), address.length) == 0) {
    boost::test_tools::assertion_result busy(false);
    busy.message() << "/dev/log belongs to a running syslog daemon";
    return busy;
  }
  ::unlink("/dev/log");
  return true;
}

BOOST_AUTO_TEST_CASE(syslog_flag_sends_lines_to_dev_log,
                     *boost::unit_test::precondition(have_root) *
                         boost::unit_test::precondition(dev_log_is_free)) {
  // /dev/log is where syslog(3) writes; this machine runs no syslog daemon, so the test
  // plays one for a moment (and leaves a real one alone).
  UniqueFd log(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  SocketAddress address = unix_address("/dev/log");
  BOOST_TEST_REQUIRE(::bind(log.get(), address.get(), address.length) == 0);
  std::string lines;
  {
    Spawned server({bin_path("echo-server"), "--listen", "127.0.0.1:0", "--syslog"});
    eventually(
        [&] {
          char buffer[4096];
          ssize_t n = ::recv(log.get(), buffer, sizeof buffer, MSG_DONTWAIT);
          if (n > 0) lines.append(buffer, static_cast<size_t>(n)).append("\n");
          return lines.find("listening on") != std::string::npos;
        },
        10000ms);
    BOOST_TEST(server.log() == "", "nothing on stderr with --syslog");
  }
  ::unlink("/dev/log");
  // <30> is facility daemon (3 << 3) with priority info (6).
  BOOST_TEST(lines.find("<30>") != std::string::npos, lines);
  BOOST_TEST(lines.find("listening on 127.0.0.1:") != std::string::npos, lines);
}

BOOST_AUTO_TEST_CASE(user_and_group_drop_root_after_binding,
                     *boost::unit_test::precondition(have_root)) {
  ServerProcess server("echo-server",
                       {"--listen", "127.0.0.1:0", "--user", "nobody", "--group", "nogroup"});
  std::string status = file_text("/proc/" + std::to_string(server.pid()) + "/status");
  BOOST_TEST(status.find("Uid:\t65534\t65534\t65534\t65534") != std::string::npos, status);
  BOOST_TEST(status.find("Gid:\t65534\t65534\t65534\t65534") != std::string::npos, status);
  BOOST_TEST((status.find("Groups:\t65534\n") != std::string::npos ||
              status.find("Groups:\t65534 \n") != std::string::npos),
             status);
  BOOST_TEST(test::exchange(server.port(), "as nobody") == "as nobody");
  BOOST_TEST(server.log().find("running as user nobody") != std::string::npos);
  BOOST_TEST(server.log().find("running as root") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(root_without_user_is_warned_about_once,
                     *boost::unit_test::precondition(have_root)) {
  ServerProcess server("echo-server", {"--listen", "127.0.0.1:0", "--listen", "udp:127.0.0.1:0"});
  test::exchange(server.port(), "x");
  BOOST_TEST(count(server.log(), "running as root") == 1u, server.log());
}

// Defect: "listening on" was logged before the server failed on --user or --group.
BOOST_AUTO_TEST_CASE(unknown_user_is_a_clear_error) {
  RunResult result =
      run_program("echo-server", {"--listen", "127.0.0.1:0", "--user", "no-such-user-here"});
  BOOST_TEST(result.exit_code == EX_NOUSER);
  BOOST_TEST(result.err.find("--user no-such-user-here: no such user") != std::string::npos,
             result.err);
  BOOST_TEST(result.err.find("listening on") == std::string::npos, result.err);
  RunResult group = run_program("echo-server", {"--listen", "127.0.0.1:0", "--user", "nobody",
                                                "--group", "no-such-group-here"});
  BOOST_TEST(group.exit_code == EX_NOUSER);
  BOOST_TEST(group.err.find("--group no-such-group-here") != std::string::npos, group.err);
  BOOST_TEST(group.err.find("listening on") == std::string::npos, group.err);
}

BOOST_AUTO_TEST_CASE(cmd_server_refuses_root_before_it_listens,
                     *boost::unit_test::precondition(have_root)) {
  RunResult refused = run_program("cmd-server", {"--listen", "127.0.0.1:0", "--allow", "date"});
  BOOST_TEST(refused.exit_code == EX_CONFIG, refused.err);
  BOOST_TEST(refused.err.find("will not run as root") != std::string::npos, refused.err);
  BOOST_TEST(refused.err.find("listening on") == std::string::npos, refused.err);
  // --user root is root all the same.
  RunResult as_root =
      run_program("cmd-server", {"--listen", "127.0.0.1:0", "--allow", "date", "--user", "root"});
  BOOST_TEST(as_root.exit_code == EX_CONFIG, as_root.err);
}

// Defect: a unix socket that could not be created exited 69, the "another server has the
// address" code. Now EX_CANTCREAT (73), naming the directory.
BOOST_AUTO_TEST_CASE(a_unix_socket_that_cannot_be_created_is_ex_cantcreat) {
  TempDir dir("unix-errors");
  RunResult missing =
      run_program("echo-server", {"--listen", "unix:" + (dir.path / "no/such/s.sock").string()});
  BOOST_TEST(missing.exit_code == EX_CANTCREAT, missing.err);
  BOOST_TEST(missing.err.find("does the directory " + (dir.path / "no/such").string()) !=
                 std::string::npos,
             missing.err);
  dir.write("plain", "not a directory");
  RunResult not_dir =
      run_program("echo-server", {"--listen", "unix:" + (dir.path / "plain/s.sock").string()});
  BOOST_TEST(not_dir.exit_code == EX_CANTCREAT, not_dir.err);
  RunResult not_socket =
      run_program("echo-server", {"--listen", "unix:" + (dir.path / "plain").string()});
  BOOST_TEST(not_socket.exit_code == EX_CANTCREAT, not_socket.err);
  // A directory this user may not write to: as root, become nobody to meet one.
  fs::create_directories(dir.path / "closed");
  fs::permissions(dir.path / "closed", fs::perms::owner_read | fs::perms::owner_exec |
                                           fs::perms::group_read | fs::perms::group_exec |
                                           fs::perms::others_read | fs::perms::others_exec);
  std::vector<std::string> args{"--listen", "unix:" + (dir.path / "closed/s.sock").string()};
  RunResult closed = run_unprivileged("echo-server", args, 10000ms);
  BOOST_TEST(closed.exit_code == EX_CANTCREAT, closed.err);
  BOOST_TEST(closed.err.find("may this user create files in") != std::string::npos, closed.err);
}

// Defect: "--listen X --listen X" failed as if another server owned the port.
BOOST_AUTO_TEST_CASE(the_same_listen_address_twice_is_a_usage_error) {
  uint16_t port = free_port();
  std::string address = "127.0.0.1:" + std::to_string(port);
  RunResult twice = run_program("echo-server", {"--listen", address, "--listen", address});
  BOOST_TEST(twice.exit_code == EX_USAGE, twice.err);
  BOOST_TEST(twice.err.find("--listen " + address + " is given twice") != std::string::npos,
             twice.err);
  BOOST_TEST(twice.err.find("another server") == std::string::npos, twice.err);
  // tcp and udp on one port are two addresses; port 0 asks for a new port each time.
  ServerProcess both("echo-server", {"--listen", address, "--listen", "udp:" + address, "--listen",
                                     "127.0.0.1:0", "--listen", "127.0.0.1:0"});
  BOOST_TEST(both.port(2) != both.port(3));
}

BOOST_AUTO_TEST_CASE(refuse_root_and_udp_opt_in_are_enforced_by_run) {
  // A service that runs programs for its clients (cmd-server) sets refuse_root; chargen sets
  // udp_opt_in. Checked in this process with a stand-in service.
  ServiceDefinition service;
  service.info = {.name = "stand-in",
                  .port = 0,
                  .summary = "test",
                  .refuse_root = true,
                  .udp_opt_in = "udp-stand-in"};
  service.add_options = [](po::options_description&) {};
  service.validate = [] {};
  service.stream = [](Connection&) {};
  service.datagram = [](DatagramRequest&) {};
  std::vector<std::string> udp{"stand-in", "--listen", "udp:127.0.0.1:0"};
  std::vector<char*> argv;
  for (std::string& a : udp) argv.push_back(a.data());
  BOOST_TEST(run_service(service, static_cast<int>(argv.size()), argv.data()) == EX_USAGE);
  if (::geteuid() == 0) {
    std::vector<std::string> tcp{"stand-in", "--listen", "127.0.0.1:0"};
    argv.clear();
    for (std::string& a : tcp) argv.push_back(a.data());
    BOOST_TEST(run_service(service, static_cast<int>(argv.size()), argv.data()) == EX_CONFIG);
  }
}

BOOST_AUTO_TEST_CASE(chroot_then_user_for_services_that_offer_it,
                     *boost::unit_test::precondition(have_root)) {
  // file-server offers --chroot (ServiceInfo::chroot_option); a stand-in service does here,
  // run in a forked child of the test so that the test itself stays where it is.
  TempDir dir("chroot");
  ServiceDefinition service;
  service.info = {.name = "stand-in", .port = 0, .summary = "test", .chroot_option = true};
  service.add_options = [](po::options_description&) {};
  service.validate = [] {};
  service.stream = [](Connection&) {};
  std::vector<std::string> args{"stand-in",        "--listen", "127.0.0.1:0", "--chroot",
                                dir.path.string(), "--user",   "nobody"};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  pid_t pid = ::fork();
  BOOST_TEST_REQUIRE(pid >= 0);
  if (pid == 0) ::_exit(run_service(service, static_cast<int>(argv.size()), argv.data()));
  std::string proc = "/proc/" + std::to_string(pid);
  BOOST_TEST(eventually(
                 [&] {
                   std::error_code ignored;
                   return fs::read_symlink(proc + "/root", ignored) == dir.path &&
                          file_text(proc + "/status").find("Uid:\t65534\t65534\t65534\t65534") !=
                              std::string::npos;
                 },
                 10000ms),
             file_text(proc + "/status"));
  ::kill(pid, SIGTERM);
  int status = 0;
  BOOST_TEST(eventually([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, 15000ms));
  BOOST_TEST((WIFEXITED(status) && WEXITSTATUS(status) == 0));
}

BOOST_AUTO_TEST_CASE(allow_and_deny_ranges) {
  {
    ServerProcess server("echo-server", {"--listen", "127.0.0.1:0", "--listen", "udp:127.0.0.1:0",
                                         "--allow-from", "10.0.0.0/8", "--allow-from", "::1"});
    for (int i = 0; i < 5; ++i) BOOST_TEST(refused(server.port()));
    UniqueFd udp = udp_socket();
    for (int i = 0; i < 5; ++i)
      BOOST_TEST(udp_exchange(udp.get(), server.port(1), "no", 300ms) == "");
    // Logged, but once per source per interval: not ten times.
    BOOST_TEST(server.wait_for_log("not in --allow-from"));
    BOOST_TEST(count(server.log(), "refused 127.0.0.1:") == 1u, server.log());
  }
  {
    // A v4 client matches the v4 rule written in its mapped form, and a deny elsewhere is no bar.
    ServerProcess server("echo-server",
                         {"--listen", "127.0.0.1:0", "--allow-from", "::ffff:127.0.0.0/104",
                          "--deny-from", "10.1.2.3", "--deny-from", "2001:db8::/32"});
    BOOST_TEST(test::exchange(server.port(), "allowed") == "allowed");
  }
  {
    ServerProcess server("echo-server",
                         {"--listen", "127.0.0.1:0", "--listen", "udp:127.0.0.1:0", "--allow-from",
                          "127.0.0.0/8", "--deny-from", "127.0.0.1/32"});
    BOOST_TEST(refused(server.port()));
    UniqueFd udp = udp_socket();
    BOOST_TEST(udp_exchange(udp.get(), server.port(1), "no", 500ms) == "");
    BOOST_TEST(server.wait_for_log("matches --deny-from"));
  }
}

BOOST_AUTO_TEST_CASE(bad_ranges_are_usage_errors) {
  RunResult result = run_program("echo-server", {"--allow-from", "300.1.2.3/8"});
  BOOST_TEST(result.exit_code == EX_USAGE);
  BOOST_TEST(result.err.find("bad address range '300.1.2.3/8'") != std::string::npos, result.err);
}

BOOST_DATA_TEST_CASE(max_per_source_counts_requests_in_flight, bdata::make(concurrent_models()),
                     model) {
  ServerProcess server("echo-server",
                       {"--listen", "127.0.0.1:0", "--model", model, "--max-per-source", "2"});
  UniqueFd first = served_connection(server.port());
  {
    UniqueFd second = served_connection(server.port());
    BOOST_TEST(refused(server.port()), "a third connection from 127.0.0.1");
    BOOST_TEST(server.wait_for_log("already 2 requests in flight (--max-per-source)"));
  }
  // The second has ended (child reaped, thread joined): a slot is free again.
  BOOST_TEST(eventually([&] { return echoes(server.port(), "again"); }, 10000ms));
  BOOST_TEST(count(server.log(), "refused 127.0.0.1:") == 1u, server.log());
}

BOOST_AUTO_TEST_CASE(max_rate_limits_new_connections_and_datagrams_per_second) {
  ServerProcess server("echo-server", {"--listen", "127.0.0.1:0", "--listen", "udp:127.0.0.1:0",
                                       "--model", "iterative", "--max-rate", "3"});
  // Ten datagrams at once: the first three of this second are answered, the rest dropped.
  UniqueFd udp = udp_socket();
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(server.port(1));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int i = 0; i < 10; ++i) {
    BOOST_TEST_REQUIRE(
        ::sendto(udp.get(), "burst", 5, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) == 5);
  }
  size_t replies = 0;
  char buffer[64];
  while (eventually([&] { return ::recv(udp.get(), buffer, sizeof buffer, MSG_DONTWAIT) > 0; },
                    1000ms))
    ++replies;
  BOOST_TEST(replies == 3u);
  BOOST_TEST(server.wait_for_log("more than 3 requests per second (--max-rate)"));
  BOOST_TEST(count(server.log(), "refused 127.0.0.1:") == 1u, server.log());
}

BOOST_AUTO_TEST_CASE(max_rate_refuses_connections_past_the_rate) {
  ServerProcess server("echo-server",
                       {"--listen", "127.0.0.1:0", "--model", "thread", "--max-rate", "3"});
  // Six clients connect at once; the server takes them from its backlog in one burst.
  std::vector<UniqueFd> clients;
  for (int i = 0; i < 6; ++i) clients.push_back(connect_tcp(server.port()));
  size_t served = 0, closed = 0;
  for (UniqueFd& fd : clients) {
    try {
      write_all(fd.get(), std::string("rate"), Deadline::after(5000ms));
      ::shutdown(fd.get(), SHUT_WR);
      std::string reply = read_to_eof(fd.get(), 10000ms);
      (reply == "rate" ? served : closed) += 1;
    } catch (const std::system_error&) {
      ++closed;  // reset: the server had closed it before our bytes came
    }
  }
  BOOST_TEST(served == 3u);
  BOOST_TEST(closed == 3u);
  BOOST_TEST(count(server.log(), "refused 127.0.0.1:") == 1u, server.log());
}

BOOST_AUTO_TEST_SUITE_END()
