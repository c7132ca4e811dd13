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
  BOOST_CHECK_THROW(seconds_option(-1, "timeout"), UsageError);
}

BOOST_AUTO_TEST_SUITE_END()
