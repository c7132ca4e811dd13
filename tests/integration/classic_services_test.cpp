// discard, chargen, daytime and time servers, checked byte for byte, over tcp and udp, under
// every model; their clients; and the well-known-port error.
#include <arpa/inet.h>
#include <sysexits.h>
#include <unistd.h>

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <cstring>
#include <ctime>
#include <regex>

#include "chargen.hpp"
#include "clock_formats.hpp"
#include "harness.hpp"

namespace bdata = boost::unit_test::data;
using namespace sockserv;
using namespace sockserv::test;

namespace {
const auto kModels = bdata::make(all_models());

ServerProcess start(const std::string& program, const std::string& model) {
  std::vector<std::string> args{"--listen",        "127.0.0.1:0", "--listen",
                                "udp:127.0.0.1:0", "--model",     model};
  if (program == "chargen-server") args.push_back("--udp-chargen");  // UDP chargen is opt-in
  return ServerProcess(program, args);
}

bool near_now(int64_t unix_seconds) {
  return std::llabs(unix_seconds - std::time(nullptr)) <= 5;
}

int64_t parse_daytime(const std::string& text) {
  std::tm tm{};
  BOOST_REQUIRE(strptime(text.c_str(), "%a %b %e %H:%M:%S %Y", &tm) != nullptr);
  return static_cast<int64_t>(timegm(&tm));
}
}  // namespace

BOOST_AUTO_TEST_SUITE(classic_services)

BOOST_DATA_TEST_CASE(discard_returns_nothing, kModels, model) {
  ServerProcess server = start("discard-server", model);
  BOOST_TEST(exchange(server.port(0), random_bytes(1 << 20)) == "");
  UniqueFd udp = udp_socket();
  BOOST_TEST(udp_exchange(udp.get(), server.port(1), "anyone?", 300ms) == "");
  BOOST_TEST(server.running());
}

BOOST_DATA_TEST_CASE(chargen_tcp_sends_the_rotating_pattern, kModels, model) {
  ServerProcess server = start("chargen-server", model);
  UniqueFd fd = connect_tcp(server.port(0));
  std::string expected;
  for (size_t i = 0; i < 300; ++i) expected += chargen_line(i);
  std::string got(expected.size(), '\0');
  BOOST_REQUIRE(read_full(fd.get(), std::as_writable_bytes(std::span(got)),
                          Deadline::after(10000ms)) == got.size());
  BOOST_TEST((got == expected));
  fd.reset();  // the client leaves; the server must notice and carry on
  UniqueFd again = connect_tcp(server.port(0));
  std::string first(74, '\0');
  BOOST_REQUIRE(read_full(again.get(), std::as_writable_bytes(std::span(first)),
                          Deadline::after(10000ms)) == 74u);
  BOOST_TEST(first == chargen_line(0));
}

BOOST_DATA_TEST_CASE(chargen_udp_reply_is_whole_lines_within_512_bytes, kModels, model) {
  ServerProcess server = start("chargen-server", model);
  UniqueFd udp = udp_socket();
  std::string reply = udp_exchange(udp.get(), server.port(1), "");
  BOOST_TEST(reply.size() <= 512u);
  BOOST_TEST(reply.size() % 74 == 0u);
  BOOST_TEST(reply.substr(0, 74) == chargen_line(0));
}

BOOST_AUTO_TEST_CASE(udp_chargen_is_refused_without_udp_chargen) {
  RunResult r = run_program("chargen-server", {"--listen", "udp:127.0.0.1:0"}, "", 5000ms);
  BOOST_TEST(r.exit_code == EX_USAGE);
  BOOST_TEST(r.err.find("--udp-chargen") != std::string::npos, r.err);
}

BOOST_DATA_TEST_CASE(daytime_over_tcp_and_udp, kModels, model) {
  ServerProcess server = start("daytime-server", model);
  std::string line = exchange(server.port(0), "");
  BOOST_TEST(
      std::regex_match(
          line, std::regex(R"([A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}\r\n)")),
      line);
  BOOST_TEST(near_now(parse_daytime(line)));
  UniqueFd udp = udp_socket();
  std::string datagram = udp_exchange(udp.get(), server.port(1), "");
  BOOST_TEST(datagram.size() == line.size());
  BOOST_TEST(near_now(parse_daytime(datagram)));
}

BOOST_DATA_TEST_CASE(time_is_4_bytes_since_1900_in_network_order, kModels, model) {
  ServerProcess server = start("time-server", model);
  for (bool use_udp : {false, true}) {
    std::string reply;
    if (use_udp) {
      UniqueFd udp = udp_socket();
      reply = udp_exchange(udp.get(), server.port(1), "");
    } else {
      reply = exchange(server.port(0), "");
    }
    BOOST_REQUIRE(reply.size() == 4u);
    uint32_t raw;
    std::memcpy(&raw, reply.data(), 4);
    int64_t since_1900 = ntohl(raw);
    BOOST_TEST(near_now(since_1900 - 2'208'988'800), "value " << since_1900);
  }
}

BOOST_AUTO_TEST_CASE(clients_print_dates) {
  ServerProcess daytime = start("daytime-server", "fork");
  ServerProcess time = start("time-server", "fork");
  for (const std::string& prefix : {std::string(""), std::string("udp:")}) {
    size_t i = prefix.empty() ? 0 : 1;
    RunResult d =
        run_program("daytime-client", {prefix + "127.0.0.1:" + std::to_string(daytime.port(i))});
    BOOST_TEST(d.exit_code == 0, d.err);
    BOOST_TEST(near_now(parse_daytime(d.out)), d.out);
    RunResult t =
        run_program("time-client", {prefix + "127.0.0.1:" + std::to_string(time.port(i))});
    BOOST_TEST(t.exit_code == 0, t.err);
    BOOST_TEST(near_now(parse_daytime(t.out)), t.out);
    BOOST_TEST(t.out.find(" UTC (") != std::string::npos);
    RunResult raw =
        run_program("time-client", {prefix + "127.0.0.1:" + std::to_string(time.port(i)), "--raw"});
    BOOST_TEST(near_now(std::stoll(raw.out) - 2'208'988'800), raw.out);
  }
}

BOOST_AUTO_TEST_CASE(clients_fail_when_nobody_answers) {
  ServerProcess server = start("discard-server", "fork");
  // A discard server never answers: the time client must give up with an error, not hang.
  RunResult t = run_program("time-client", {"udp:" + server.address(1), "--timeout", "0.2"});
  BOOST_TEST(t.exit_code != 0);
  server.stop();
  RunResult e = run_program("echo-client", {server.address(0), "--message", "hi"});
  BOOST_TEST(e.exit_code != 0);
  BOOST_TEST(e.err.find("connect") != std::string::npos, e.err);
}

BOOST_AUTO_TEST_CASE(echo_client_exits_nonzero_on_a_wrong_reply) {
  // chargen answers with its pattern, not an echo: the echo client must notice.
  ServerProcess server = start("chargen-server", "fork");
  RunResult r = run_program("echo-client", {server.address(0), "--message", "hello"});
  BOOST_TEST(r.exit_code != 0);
  BOOST_TEST(r.err.find("wrong reply") != std::string::npos, r.err);
}

BOOST_AUTO_TEST_CASE(well_known_port_without_privilege_names_listen) {
  // As a student would run it: no root, no capabilities.
  RunResult r = run_unprivileged("echo-server", {"--listen", "127.0.0.1:7"});
  BOOST_TEST(r.exit_code == EX_NOPERM, r.err);
  BOOST_TEST(r.err.find("--listen") != std::string::npos, r.err);
  BOOST_TEST(std::count(r.err.begin(), r.err.end(), '\n') == 1, "one line: " << r.err);
}

BOOST_AUTO_TEST_SUITE_END()
