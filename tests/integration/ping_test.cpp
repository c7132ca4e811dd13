// ping against the kernel's own echo replies on loopback: as root over a raw socket, and
// unprivileged over a datagram socket that net.ipv4.ping_group_range allows. The
// unprivileged runs happen in a network namespace of their own (unshare -n), inside a user
// namespace where the kernel allows one (unshare -U -r: then no root is needed), with every
// capability dropped (setpriv): there the sysctl can be set without touching the machine's,
// and CAP_NET_RAW is missing as for any user. Where no namespace can be made the test is
// skipped with the reason.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cerrno>
#include <cstring>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "fd.hpp"
#include "harness.hpp"
#include "namespaces.hpp"
#include "peers.hpp"
#include "socket.hpp"

using namespace sockserv;
using namespace sockserv::test;

namespace {

constexpr const char* kAllowGroupZero = "0 0";  // the group of root inside the namespace
// A new network namespace starts with the kernel's default, "1 0": no group at all. (In a
// user namespace it cannot be written back: gid 1 has no mapping there, it shows as 65534.)
constexpr const char* kAllowNobody = "";

std::vector<std::string> lines_with(const std::string& text, const std::string& needle) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.find(needle) != std::string::npos) lines.push_back(line);
  return lines;
}

// Checks ping's output for exactly the replies 1..count from `from`, no duplicate, and the
// summary of a run without loss.
void expect_all_replies(const RunResult& r, const std::string& from, int count) {
  BOOST_TEST(r.exit_code == 0, r.out << r.err);
  std::vector<std::string> replies = lines_with(r.out, " bytes from ");
  BOOST_TEST(replies.size() == static_cast<size_t>(count), r.out);
  std::set<int> seqs;
  const std::regex kLine("64 bytes from " +
                         std::regex_replace(from, std::regex(R"([.])"), R"(\.)") +
                         R"(: icmp_seq=(\d+) ttl=\d+ time=[0-9.]+ ms)");
  for (const std::string& line : replies) {
    std::smatch match;
    BOOST_TEST(std::regex_match(line, match, kLine), line);
    if (!match.empty()) seqs.insert(std::stoi(match[1]));
  }
  BOOST_TEST(seqs.size() == static_cast<size_t>(count), r.out);
  BOOST_TEST(r.out.find("DUP!") == std::string::npos, r.out);
  std::string summary = std::to_string(count) + " packets transmitted, " + std::to_string(count) +
                        " received, 0% packet loss, time ";
  BOOST_TEST(r.out.find(summary) != std::string::npos, r.out);
  BOOST_TEST(r.out.find("--- " + from + " ping statistics ---") != std::string::npos, r.out);
  BOOST_TEST(r.out.find("rtt min/avg/max/mdev = ") != std::string::npos, r.out);
}

boost::test_tools::assertion_result have_root(boost::unit_test::test_unit_id) {
  boost::test_tools::assertion_result result(::geteuid() == 0);
  result.message() << "needs root (to become another user with setpriv)";
  return result;
}

// Root without CAP_NET_RAW exists too (containers may drop it): ask the kernel.
boost::test_tools::assertion_result have_raw_sockets(boost::unit_test::test_unit_id) {
  UniqueFd probe(::socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP));
  boost::test_tools::assertion_result result(static_cast<bool>(probe));
  result.message() << "raw ICMP sockets need root or CAP_NET_RAW here: " << std::strerror(errno);
  return result;
}

boost::test_tools::assertion_result have_ipv6_loopback(boost::unit_test::test_unit_id) {
  UniqueFd probe(::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_in6 loopback{};
  loopback.sin6_family = AF_INET6;
  loopback.sin6_addr = in6addr_loopback;
  bool ok =
      probe && ::bind(probe.get(), reinterpret_cast<sockaddr*>(&loopback), sizeof loopback) == 0;
  boost::test_tools::assertion_result result(ok);
  result.message() << "::1 is not configured on this machine (IPv6 disabled?)";
  return result;
}

// Runs `command` in a new network namespace (loopback up, ping_group_range = `group_range`
// or left as it starts when empty)
// with every capability dropped unless `keep_capabilities`.
RunResult run_in_namespace(const std::string& group_range, bool keep_capabilities,
                           std::vector<std::string> command, Millis timeout = 20000ms) {
  std::vector<std::string> args = *namespace_options();
  std::string script =
      "PATH=/usr/sbin:/sbin:$PATH; ip link set lo up || exit 97; "
      "[ -z \"$RANGE\" ] || echo \"$RANGE\" > /proc/sys/net/ipv4/ping_group_range || exit 98; ";
  script += keep_capabilities ? "exec \"$@\""
                              : "exec setpriv --inh-caps=-all --bounding-set=-all -- \"$@\"";
  args.insert(args.end(), {"sh", "-c", script, "sh"});
  args.insert(args.end(), command.begin(), command.end());
  RunResult r = run_program(kUnshare, args, "", timeout, {"RANGE=" + group_range});
  BOOST_TEST_REQUIRE((r.exit_code != 97 && r.exit_code != 98), "namespace set-up: " << r.err);
  return r;
}

std::vector<std::string> ping_command(std::vector<std::string> args) {
  args.insert(args.begin(), bin_path("ping"));
  return args;
}

// Some ICMP socket for ping: a raw one here, or a datagram one in a namespace of our own.
boost::test_tools::assertion_result have_an_icmp_socket(boost::unit_test::test_unit_id id) {
  if (have_raw_sockets(id)) return true;
  return have_namespaces(id);
}

// Runs `command` (an absolute path first) where ping can open a socket (have_an_icmp_socket).
RunResult run_where_ping_can(std::vector<std::string> command) {
  if (!have_raw_sockets(0)) return run_in_namespace(kAllowGroupZero, false, command);
  std::string program = command.front();
  command.erase(command.begin());
  return run_program(program, command);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(ping)

BOOST_AUTO_TEST_CASE(raw_socket_as_root_ipv4, *boost::unit_test::precondition(have_raw_sockets)) {
  RunResult r = run_program("ping", {"--socket", "raw", "-v", "-c", "3", "-i", "0.2", "127.0.0.1"});
  expect_all_replies(r, "127.0.0.1", 3);
  BOOST_TEST(r.out.rfind("PING 127.0.0.1 (127.0.0.1) 56(84) bytes of data.\n", 0) == 0U, r.out);
  BOOST_TEST(r.err.find("using a raw ICMP socket") != std::string::npos, r.err);
}

BOOST_AUTO_TEST_CASE(raw_socket_as_root_ipv6,
                     *boost::unit_test::precondition(have_raw_sockets) *
                         boost::unit_test::precondition(have_ipv6_loopback)) {
  RunResult r = run_program("ping", {"--socket", "raw", "-v", "-c", "3", "-i", "0.2", "::1"});
  expect_all_replies(r, "::1", 3);
  BOOST_TEST(r.out.rfind("PING ::1 (::1) 56 data bytes\n", 0) == 0U, r.out);
  BOOST_TEST(r.err.find("using a raw ICMP socket") != std::string::npos, r.err);
}

BOOST_AUTO_TEST_CASE(unprivileged_datagram_socket_ipv4,
                     *boost::unit_test::precondition(have_namespaces)) {
  RunResult r = run_in_namespace(kAllowGroupZero, false,
                                 ping_command({"-v", "-c", "3", "-i", "0.2", "127.0.0.1"}));
  expect_all_replies(r, "127.0.0.1", 3);
  BOOST_TEST(r.err.find("using a datagram ICMP socket") != std::string::npos, r.err);
}

BOOST_AUTO_TEST_CASE(unprivileged_datagram_socket_ipv6,
                     *boost::unit_test::precondition(have_namespaces) *
                         boost::unit_test::precondition(have_ipv6_loopback)) {
  RunResult r = run_in_namespace(kAllowGroupZero, false,
                                 ping_command({"-v", "-6", "-c", "3", "-i", "0.2", "::1"}));
  expect_all_replies(r, "::1", 3);
  BOOST_TEST(r.err.find("using a datagram ICMP socket") != std::string::npos, r.err);
}

// With CAP_NET_RAW (root of the namespace) and ping_group_range refusing: the raw socket.
BOOST_AUTO_TEST_CASE(raw_socket_when_datagram_sockets_are_refused,
                     *boost::unit_test::precondition(have_namespaces)) {
  RunResult r = run_in_namespace(kAllowNobody, true,
                                 ping_command({"-v", "-c", "3", "-i", "0.2", "127.0.0.1"}));
  expect_all_replies(r, "127.0.0.1", 3);
  BOOST_TEST(r.err.find("using a raw ICMP socket") != std::string::npos, r.err);
}

BOOST_AUTO_TEST_CASE(no_socket_allowed_names_the_sysctl_and_the_capability,
                     *boost::unit_test::precondition(have_namespaces)) {
  std::vector<std::string> hosts = {"127.0.0.1"};
  if (have_ipv6_loopback(0)) hosts.push_back("::1");
  for (const std::string& host : hosts) {
    RunResult r = run_in_namespace(kAllowNobody, false, ping_command({"-c", "1", host}));
    BOOST_TEST(r.exit_code == 2, host << ": " << r.out << r.err);
    BOOST_TEST(r.out.empty(), r.out);
    BOOST_TEST(r.err.find("cannot open an ICMP socket") != std::string::npos, r.err);
    BOOST_TEST(r.err.find("net.ipv4.ping_group_range, which is \"") != std::string::npos, r.err);
    BOOST_TEST(r.err.find("CAP_NET_RAW") != std::string::npos, r.err);
  }
  // Asked for a raw socket only, it names only what a raw socket needs.
  RunResult raw = run_in_namespace(kAllowGroupZero, false,
                                   ping_command({"--socket", "raw", "-c", "1", "127.0.0.1"}));
  BOOST_TEST(raw.exit_code == 2, raw.err);
  BOOST_TEST(raw.err.find("CAP_NET_RAW") != std::string::npos, raw.err);
  BOOST_TEST(raw.err.find("ping_group_range") == std::string::npos, raw.err);
}

// A raw socket receives every echo reply of the host: each ping must count only the
// replies carrying its own identifier, and none twice.
BOOST_AUTO_TEST_CASE(two_pings_at_once_count_only_their_own,
                     *boost::unit_test::precondition(have_raw_sockets)) {
  RunResult first, second;
  {
    std::vector<std::string> args = {"--socket", "raw", "-c", "5", "-i", "0.2", "127.0.0.1"};
    std::jthread a([&] { first = run_program("ping", args); });
    std::jthread b([&] { second = run_program("ping", args); });
  }
  expect_all_replies(first, "127.0.0.1", 5);
  expect_all_replies(second, "127.0.0.1", 5);
}

// No route to the host: each send fails at once; no reply at all is exit status 1.
BOOST_AUTO_TEST_CASE(unreachable_host_exits_1_with_the_errors_counted,
                     *boost::unit_test::precondition(have_namespaces)) {
  RunResult r = run_in_namespace(kAllowGroupZero, false,
                                 ping_command({"-c", "2", "-i", "0.2", "-W", "0.5", "192.0.2.1"}));
  BOOST_TEST(r.exit_code == 1, r.out << r.err);
  BOOST_TEST(r.out.find("2 packets transmitted, 0 received, +2 errors, 100% packet loss") !=
                 std::string::npos,
             r.out);
  BOOST_TEST(r.out.find("rtt ") == std::string::npos, r.out);
  BOOST_TEST(r.err.find("Network is unreachable") != std::string::npos, r.err);
}

// A host that never answers: after -W the request counts as lost, and ping ends.
BOOST_AUTO_TEST_CASE(silent_host_times_out_after_w,
                     *boost::unit_test::precondition(have_namespaces)) {
  // 192.0.2.0/24 routed into loopback: the packets leave, nobody there answers.
  RunResult r =
      run_in_namespace(kAllowGroupZero, true,
                       {"sh", "-c",
                        "ip route add 192.0.2.0/24 dev lo && exec setpriv --inh-caps=-all "
                        "--bounding-set=-all -- \"$@\"",
                        "sh", bin_path("ping"), "-c", "1", "-W", "0.5", "192.0.2.1"});
  BOOST_TEST(r.exit_code == 1, r.out << r.err);
  BOOST_TEST(r.out.find("1 packets transmitted, 0 received, 100% packet loss") != std::string::npos,
             r.out);
}

// Real duplicates, a real late reply and an ICMP error, from a responder that misbehaves on purpose
// (tests/integration/ping_responder.py, Python with a raw socket) where the kernel does not
// answer: sequence 1 answered twice, sequence 2 after 1 s (-W 0.5), sequence 3 with an ICMP
// "time to live exceeded", the others once. Over a datagram socket (capabilities dropped: the
// error comes from the error queue) and over a raw one (the error comes as data).
BOOST_AUTO_TEST_CASE(duplicates_late_replies_and_errors_from_a_real_responder,
                     *boost::unit_test::precondition(have_namespaces)) {
  std::string responder = source_dir() + "/tests/integration/ping_responder.py";
  std::vector<std::string> ping_args = {"-c", "10", "-i", "0.2", "-W", "0.5", "127.0.0.1"};
  for (bool raw : {false, true}) {
    std::vector<std::string> command = {
        "sh", "-c",
        "echo 1 > /proc/sys/net/ipv4/icmp_echo_ignore_all && exec /usr/bin/python3 \"$@\"", "sh",
        responder};
    if (!raw) command.insert(command.end(), {"setpriv", "--inh-caps=-all", "--bounding-set=-all"});
    command.push_back(bin_path("ping"));
    if (raw) command.insert(command.end(), {"--socket", "raw"});
    command.insert(command.end(), ping_args.begin(), ping_args.end());
    RunResult r = run_in_namespace(kAllowGroupZero, true, command);
    BOOST_TEST(r.exit_code == 0, r.out << r.err);
    std::vector<std::string> first = lines_with(r.out, "icmp_seq=1 ");
    BOOST_TEST_REQUIRE(first.size() == 2U, r.out);
    BOOST_TEST(!first[0].ends_with(")"), r.out);
    BOOST_TEST(first[1].ends_with(" ms (DUP!)"), r.out);
    std::vector<std::string> late = lines_with(r.out, "icmp_seq=2 ");
    BOOST_TEST((late.size() == 1U && late[0].ends_with(" ms (late)")), r.out);
    BOOST_TEST(
        r.out.find("\nFrom 127.0.0.1 icmp_seq=3 Time to live exceeded\n") != std::string::npos,
        r.out);
    BOOST_TEST(lines_with(r.out, " bytes from 127.0.0.1: ").size() == 10U, r.out);
    BOOST_TEST(r.out.find("10 packets transmitted, 8 received, +1 duplicates, +1 late, +1 "
                          "errors, 20% packet loss") != std::string::npos,
               r.out);
  }
}

// -t reaches the wire: the responder plays a router for requests that arrive with TTL 1.
BOOST_AUTO_TEST_CASE(ttl_option_reaches_the_wire,
                     *boost::unit_test::precondition(have_namespaces)) {
  std::string responder = source_dir() + "/tests/integration/ping_responder.py";
  for (bool raw : {false, true}) {
    std::vector<std::string> command = {
        "sh", "-c",
        "echo 1 > /proc/sys/net/ipv4/icmp_echo_ignore_all && exec /usr/bin/python3 \"$@\"", "sh",
        responder};
    if (!raw) command.insert(command.end(), {"setpriv", "--inh-caps=-all", "--bounding-set=-all"});
    command.insert(command.end(), {bin_path("ping"), "--socket", raw ? "raw" : "datagram", "-t",
                                   "1", "-c", "2", "-i", "0.2", "-W", "0.3", "127.0.0.1"});
    RunResult r = run_in_namespace(kAllowGroupZero, true, command);
    BOOST_TEST(r.exit_code == 1, r.out << r.err);
    BOOST_TEST(lines_with(r.out, "From 127.0.0.1 icmp_seq=").size() == 2U, r.out);
    BOOST_TEST(lines_with(r.out, " Time to live exceeded").size() == 2U, r.out);
    BOOST_TEST(r.out.find("2 packets transmitted, 0 received, +2 errors, 100% packet loss") !=
                   std::string::npos,
               r.out);
  }
}

BOOST_AUTO_TEST_CASE(interrupt_prints_the_summary,
                     *boost::unit_test::precondition(have_an_icmp_socket)) {
  // timeout(1) sends SIGINT after 2 s, as Ctrl-C would; --preserve-status: ping's own status.
  RunResult r = run_where_ping_can({"/usr/bin/timeout", "--preserve-status", "-s", "INT", "2",
                                    bin_path("ping"), "-i", "0.2", "127.0.0.1"});
  BOOST_TEST(r.exit_code == 0, "exit " << r.exit_code << "\n" << r.out << r.err);
  BOOST_TEST(r.out.find("--- 127.0.0.1 ping statistics ---") != std::string::npos, r.out);
  std::smatch match;
  BOOST_TEST(
      std::regex_search(r.out, match, std::regex(R"((\d+) packets transmitted, (\d+) received)")),
      r.out);
  if (!match.empty()) {
    BOOST_TEST(std::stoi(match[1]) >= 2, r.out);  // about 10 in 2 s at -i 0.2
    BOOST_TEST(std::stoi(match[2]) >= 1, r.out);
  }
}

BOOST_AUTO_TEST_CASE(payload_size_sets_the_reply_size,
                     *boost::unit_test::precondition(have_an_icmp_socket)) {
  RunResult big = run_where_ping_can(ping_command({"-c", "1", "-s", "1000", "127.0.0.1"}));
  BOOST_TEST(big.exit_code == 0, big.err);
  BOOST_TEST(big.out.find("1000(1028) bytes of data") != std::string::npos, big.out);
  BOOST_TEST(big.out.find("1008 bytes from 127.0.0.1: icmp_seq=1 ") != std::string::npos, big.out);
  // No room for the timestamp: the time comes from ping's own record.
  RunResult empty = run_where_ping_can(ping_command({"-c", "1", "-s", "0", "127.0.0.1"}));
  BOOST_TEST(empty.exit_code == 0, empty.err);
  BOOST_TEST(empty.out.find("8 bytes from 127.0.0.1: icmp_seq=1 ttl=") != std::string::npos,
             empty.out);
}

BOOST_AUTO_TEST_CASE(quiet_prints_only_the_first_line_and_the_summary,
                     *boost::unit_test::precondition(have_an_icmp_socket)) {
  RunResult r = run_where_ping_can(ping_command({"-q", "-c", "2", "-i", "0.2", "127.0.0.1"}));
  BOOST_TEST(r.exit_code == 0, r.err);
  BOOST_TEST(lines_with(r.out, "bytes from").empty(), r.out);
  BOOST_TEST(r.out.find("2 packets transmitted, 2 received, 0% packet loss") != std::string::npos,
             r.out);
  BOOST_TEST(r.out.rfind("PING 127.0.0.1 ", 0) == 0U, r.out);
}

BOOST_AUTO_TEST_CASE(bad_hosts_exit_2_with_a_clear_message) {
  // A numeric address of the other family: getaddrinfo refuses it without any lookup.
  RunResult wrong_family = run_program("ping", {"-4", "-c", "1", "::1"});
  BOOST_TEST(wrong_family.exit_code == 2, wrong_family.err);
  BOOST_TEST(wrong_family.err.rfind("ping: ::1: ", 0) == 0U, wrong_family.err);
  // .invalid never resolves (RFC 6761); the resolver may ask DNS first, so a long bound.
  RunResult unknown = run_program("ping", {"-c", "1", "nosuch.invalid"}, "", 60000ms);
  BOOST_TEST(unknown.exit_code == 2, unknown.err);
  BOOST_TEST(unknown.err.rfind("ping: nosuch.invalid: ", 0) == 0U, unknown.err);
  BOOST_TEST(unknown.out.empty(), unknown.out);
}

BOOST_AUTO_TEST_CASE(bad_options_exit_2) {
  for (std::vector<std::string> args : {std::vector<std::string>{"-c", "0", "127.0.0.1"},
                                        {"-t", "0", "127.0.0.1"},
                                        {"-t", "256", "127.0.0.1"},
                                        {"-s", "65508", "127.0.0.1"},
                                        {"-W", "0", "127.0.0.1"},
                                        {"-W", "1e10", "127.0.0.1"},
                                        {"-i", "3000000", "127.0.0.1"},
                                        {"-c", "-1", "127.0.0.1"},
                                        {"--socket", "magic", "127.0.0.1"},
                                        {"-4", "-6", "127.0.0.1"},
                                        {"-c", "1"}}) {
    RunResult r = run_program("ping", args, "", 5000ms);
    BOOST_TEST(r.exit_code == 2, args[0] << " " << args[1] << ": " << r.err);
    BOOST_TEST(r.err.find("(see ping --help)") != std::string::npos, r.err);
  }
  RunResult help = run_program("ping", {"--help"}, "", 5000ms);
  BOOST_TEST(help.exit_code == 0);
  BOOST_TEST(help.out.find("-W [ --timeout ]") != std::string::npos, help.out);
  // The one sockserv --version form; only its usage errors are ping(8)'s 2, not 64.
  RunResult version = run_program("ping", {"--version"}, "", 5000ms);
  BOOST_TEST(version.exit_code == 0);
  BOOST_TEST(std::regex_match(version.out, std::regex(R"(ping \(sockserv\) \d+\.\d+\.\d+\n)")),
             version.out);
}

// ping(8)'s flood protection: below 0.2 s between requests for root only.
BOOST_AUTO_TEST_CASE(short_intervals_are_for_root_only,
                     *boost::unit_test::precondition(have_root) *
                         boost::unit_test::precondition(have_raw_sockets)) {
  RunResult user =
      run_program("/usr/bin/setpriv", {"--reuid=65534", "--regid=65534", "--clear-groups",
                                       bin_path("ping"), "-c", "1", "-i", "0.1", "127.0.0.1"});
  BOOST_TEST(user.exit_code == 2, user.err);
  BOOST_TEST(
      user.err.find("-i 0.1: intervals below 0.2 seconds are for root only") != std::string::npos,
      user.err);
  RunResult root = run_program("ping", {"-c", "2", "-i", "0.05", "127.0.0.1"});
  expect_all_replies(root, "127.0.0.1", 2);
}

BOOST_AUTO_TEST_SUITE_END()
