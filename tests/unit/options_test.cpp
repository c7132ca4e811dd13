// Shared option parsing: command line, environment, config file, errors.
#include "options.hpp"

#include <stdlib.h>

#include <boost/test/unit_test.hpp>
#include <fstream>
#include <iostream>
#include <sstream>

#include "error.hpp"

using namespace sockserv;

namespace {

std::optional<ServerOptions> parse(std::vector<std::string> args) {
  args.insert(args.begin(), "test-server");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  po::options_description none;
  po::variables_map values;
  ServiceInfo info{.name = "test-server", .port = 7, .summary = "test"};
  return parse_server_options(info, static_cast<int>(argv.size()), argv.data(), none, values);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(options)

BOOST_AUTO_TEST_CASE(defaults_match_the_documentation) {
  ServerOptions o = *parse({});
  BOOST_TEST(o.model == "fork");
  BOOST_TEST(o.limits.max_children == 40u);
  BOOST_TEST(o.server.idle_timeout.count() == 300'000);
  BOOST_TEST(o.server.drain_timeout.count() == 10'000);
  BOOST_TEST(o.listen.empty());
  BOOST_TEST(!o.server.socket.reuse_port);
}

BOOST_AUTO_TEST_CASE(command_line_values) {
  ServerOptions o =
      *parse({"--listen", "127.0.0.1:0", "--listen", "udp:[::1]:7", "--model", "thread",
              "--max-threads", "3", "--nodelay", "--idle-timeout", "0.25", "--unix-mode", "0660"});
  BOOST_REQUIRE(o.listen.size() == 2u);
  BOOST_TEST((o.listen[1].transport == Transport::udp));
  BOOST_TEST(o.model == "thread");
  BOOST_TEST(o.limits.max_threads == 3u);
  BOOST_TEST(o.server.socket.nodelay);
  BOOST_TEST(o.server.idle_timeout.count() == 250);
  BOOST_TEST(o.server.socket.unix_mode == 0660);
}

BOOST_AUTO_TEST_CASE(environment_then_config_file_with_command_line_winning) {
  ::setenv("SOCKSERV_MAX_CHILDREN", "5", 1);
  ::setenv("SOCKSERV_MODEL", "iterative", 1);
  std::string path = "/tmp/sockserv-options-test.conf";
  std::ofstream(path) << "model = thread\nbacklog = 17\nlisten = 127.0.0.1:9\n";
  ServerOptions o = *parse({"--config", path, "--drain-timeout", "2"});
  ::unsetenv("SOCKSERV_MAX_CHILDREN");
  ::unsetenv("SOCKSERV_MODEL");
  ::unlink(path.c_str());
  BOOST_TEST(o.limits.max_children == 5u);
  BOOST_TEST(o.model == "iterative");  // the environment comes before the config file
  BOOST_TEST(o.server.socket.backlog == 17);
  BOOST_TEST(o.server.drain_timeout.count() == 2000);
  BOOST_REQUIRE(o.listen.size() == 1u);
}

BOOST_AUTO_TEST_CASE(bad_values_are_usage_errors) {
  for (std::vector<std::string> args :
       std::vector<std::vector<std::string>>{{"--model", "nope"},
                                             {"--max-children", "0"},
                                             {"--max-children", "x"},
                                             {"--listen", "nowhere"},
                                             {"--idle-timeout", "-3"},
                                             {"--unix-mode", "999"},
                                             {"--log-level", "loud"},
                                             {"--frobnicate"},
                                             {"--backlog", "0"}}) {
    BOOST_CHECK_THROW(parse(args), UsageError);
  }
  BOOST_CHECK_THROW(parse({"--config", "/nonexistent/file"}), UsageError);
}

namespace {

// The message of the UsageError that parsing `args` throws ("" if it throws none).
std::string usage_error(std::vector<std::string> args) {
  try {
    parse(std::move(args));
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

// A config file with `text`, removed when the test ends.
struct ConfigFile {
  explicit ConfigFile(const std::string& text) { std::ofstream(path) << text; }
  ~ConfigFile() { ::unlink(path.c_str()); }
  std::string path = "/tmp/sockserv-options-test-" + std::to_string(::getpid()) + ".conf";
};

}  // namespace

// Every count, size and time option, declared however, from any of the three sources: Boost
// would have wrapped "-1" to 18446744073709551615, which meant "no limit".
BOOST_AUTO_TEST_CASE(negative_and_non_finite_numbers_are_refused_for_every_option) {
  for (const char* option :
       {"--max-children", "--max-threads", "--workers", "--min-spare", "--max-spare",
        "--max-workers", "--max-requests", "--queue-size", "--backlog", "--sndbuf", "--rcvbuf",
        "--idle-timeout", "--drain-timeout", "--exit-idle", "--max-per-source", "--max-rate"}) {
    for (const char* bad : {"-1", " -2", "99999999999999999999999"}) {
      std::string message = usage_error({option, bad});
      BOOST_TEST(message.find(option) != std::string::npos,
                 option << " " << bad << ": " << message);
    }
  }
  BOOST_TEST(usage_error({"--idle-timeout", "inf"}).find("finite") != std::string::npos);
  BOOST_TEST(usage_error({"--drain-timeout=nan"}).find("finite") != std::string::npos);
  // A plain po::value<size_t>, not declared through non_negative: refused all the same.
  po::options_description own("own");
  size_t max_output = 0;
  own.add_options()("max-output", po::value(&max_output)->default_value(1));
  std::string text = "--max-output=-1";
  std::vector<char*> argv{const_cast<char*>("x"), text.data()};
  po::variables_map values;
  BOOST_CHECK_THROW(parse_all_sources(2, argv.data(), own, nullptr, values), UsageError);
  ::setenv("SOCKSERV_MAX_RATE", "-5", 1);
  std::string from_environment = usage_error({});
  ::unsetenv("SOCKSERV_MAX_RATE");
  BOOST_TEST(from_environment.find("must not be negative") != std::string::npos, from_environment);
  ConfigFile config("max-per-source = -1\n");
  BOOST_TEST(usage_error({"--config", config.path}).find("line 1") != std::string::npos);
  BOOST_TEST(usage_error({"--max-children", "100001"}).find("--max-children") != std::string::npos);
  BOOST_TEST(usage_error({"--max-rate", "1000000001"}).find("--max-rate") != std::string::npos);
}

// Defect: --unix-mode 4777 left a setuid bit on the socket file.
BOOST_AUTO_TEST_CASE(unix_mode_takes_permission_bits_only) {
  BOOST_TEST(parse({"--unix-mode", "0777"})->server.socket.unix_mode == 0777);
  BOOST_TEST(parse({"--unix-mode", "600"})->server.socket.unix_mode == 0600);
  for (const char* bad : {"4777", "2770", "1777", "07777", "-1", "0888", "rw"})
    BOOST_TEST(usage_error({"--unix-mode", bad}).find("--unix-mode") != std::string::npos, bad);
}

BOOST_AUTO_TEST_CASE(a_listen_address_given_twice_is_a_usage_error) {
  BOOST_TEST(usage_error({"--listen", "127.0.0.1:7000", "--listen", "127.0.0.1:7000"})
                 .find("--listen 127.0.0.1:7000 is given twice") != std::string::npos);
  BOOST_TEST(
      usage_error({"--listen", "unix:/tmp/x", "--listen", "unix:/tmp/x"}).find("given twice") !=
      std::string::npos);
  // Different transports, or port 0 (a new port each time), are different addresses.
  BOOST_TEST(
      parse({"--listen", "127.0.0.1:7000", "--listen", "udp:127.0.0.1:7000"})->listen.size() == 2u);
  BOOST_TEST(parse({"--listen", "127.0.0.1:0", "--listen", "127.0.0.1:0"})->listen.size() == 2u);
}

// Defect: SOCKSERV_BOGUS was accepted in silence while an unknown config key was fatal.
BOOST_AUTO_TEST_CASE(an_unknown_sockserv_variable_is_a_usage_error_naming_it) {
  ::setenv("SOCKSERV_BOGUS", "1", 1);
  std::string message = usage_error({});
  ::unsetenv("SOCKSERV_BOGUS");
  BOOST_TEST(message.find("SOCKSERV_BOGUS") != std::string::npos, message);
  ::setenv("SOCKSERV_HELP", "1", 1);
  BOOST_TEST(usage_error({}).find("SOCKSERV_HELP") != std::string::npos);
  ::unsetenv("SOCKSERV_HELP");
  // Set by cmd-server for its commands and by the test scripts: not options, not errors.
  ::setenv("SOCKSERV_PEER", "127.0.0.1:5", 1);
  BOOST_TEST(usage_error({}) == "");
  ::unsetenv("SOCKSERV_PEER");
}

// Defect: a directory given to --config was accepted (nothing read), and a file that is not a
// config file had its first line quoted: --config /etc/shadow printed root's hash.
BOOST_AUTO_TEST_CASE(config_errors_name_the_line_never_its_content) {
  BOOST_TEST(usage_error({"--config", "/tmp"}).find("/tmp is a directory") != std::string::npos);
  ConfigFile shadow("root:$6$secrethash:19000:0:99999:7:::\n");
  std::string message = usage_error({"--config", shadow.path});
  BOOST_TEST(message.find("line 1") != std::string::npos, message);
  BOOST_TEST(message.find("secrethash") == std::string::npos, message);
  BOOST_TEST(message.find("root") == std::string::npos, message);
  ConfigFile keys("# a comment\n\nmodel = thread\npassword = hunter2\n");
  message = usage_error({"--config", keys.path});
  BOOST_TEST(message.find("line 4: not an option") != std::string::npos, message);
  BOOST_TEST(message.find("hunter2") == std::string::npos, message);
  ConfigFile value("backlog = s3cret\n");
  message = usage_error({"--config", value.path});
  BOOST_TEST(message.find("line 1: bad value for --backlog") != std::string::npos, message);
  BOOST_TEST(message.find("s3cret") == std::string::npos, message);
  ConfigFile twice("model = thread\nmodel = fork\n");
  BOOST_TEST(usage_error({"--config", twice.path}).find("line 2") != std::string::npos);
  // Repeatable options add up, and the command line still wins over the file.
  ConfigFile repeat("listen = 127.0.0.1:1\nlisten = 127.0.0.1:2 # two\nmodel = thread\n");
  ServerOptions o = *parse({"--config", repeat.path, "--model", "epoll"});
  BOOST_TEST(o.listen.size() == 2u);
  BOOST_TEST(o.model == "epoll");
}

BOOST_AUTO_TEST_CASE(help_and_version_ask_to_exit) {
  std::ostringstream printed;
  std::streambuf* saved = std::cout.rdbuf(printed.rdbuf());  // keep the test log readable
  bool help_exits = !parse({"--help"}).has_value();
  bool version_exits = !parse({"--version"}).has_value();
  std::cout.rdbuf(saved);
  BOOST_TEST(help_exits);
  BOOST_TEST(version_exits);
  BOOST_TEST(printed.str().find("--max-children") != std::string::npos);
  BOOST_TEST(printed.str().find("test-server (sockserv) ") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(zero_is_no_limit_for_every_duration) {
  ServerOptions o = *parse({"--idle-timeout", "0", "--drain-timeout", "0", "--exit-idle", "0"});
  for (Millis limit : {o.server.idle_timeout, o.server.drain_timeout, o.exit_idle}) {
    BOOST_TEST(limit.count() == 0);
    BOOST_TEST(Deadline::after_or_never(limit).is_never());
  }
  BOOST_TEST(seconds_option(0, "timeout").count() == 0);
  BOOST_TEST(seconds_option(0.25, "timeout").count() == 250);
  // To the nearest millisecond, up to the largest value allowed.
  BOOST_TEST(seconds_option(0.0014, "timeout").count() == 1);
  BOOST_TEST(seconds_option(0.0016, "timeout").count() == 2);
  BOOST_TEST(seconds_option(1e7, "timeout").count() == 10'000'000'000);
  BOOST_CHECK_THROW(seconds_option(-1, "timeout"), UsageError);
}

BOOST_AUTO_TEST_SUITE_END()
