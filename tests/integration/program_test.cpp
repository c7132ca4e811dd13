// What clients and servers share through one program wrapper: the same exit status for a
// bad command line, the same --help and --version forms.
#include <sysexits.h>

#include <boost/test/unit_test.hpp>
#include <regex>

#include "harness.hpp"

using namespace sockserv;
using namespace sockserv::test;

BOOST_AUTO_TEST_SUITE(program)

BOOST_AUTO_TEST_CASE(clients_and_servers_share_usage_errors_and_the_version_form) {
  const std::regex kVersionLine(R"(([a-z-]+) \(sockserv\) [0-9]+\.[0-9]+\.[0-9]+\n)");
  std::string versions;
  for (const char* program : {"echo-client", "echo-server", "file-client", "file-server"}) {
    RunResult unknown = run_program(program, {"--no-such-option"}, "", 5000ms);
    BOOST_TEST(unknown.exit_code == EX_USAGE, program << ": " << unknown.err);
    BOOST_TEST(unknown.err.find(std::string("(see ") + program + " --help)") != std::string::npos,
               unknown.err);
    // Both answer even though a client's ADDR is a required option.
    RunResult help = run_program(program, {"--help"}, "", 5000ms);
    BOOST_TEST(help.exit_code == 0, program << ": " << help.err);
    BOOST_TEST(help.out.rfind(std::string("Usage: ") + program + " ", 0) == 0u, help.out);
    RunResult version = run_program(program, {"--version"}, "", 5000ms);
    BOOST_TEST(version.exit_code == 0, program);
    std::smatch match;
    BOOST_TEST(std::regex_match(version.out, match, kVersionLine), program << ": " << version.out);
    BOOST_TEST(match[1] == program);
    // The same version after the name, whoever prints it.
    versions += version.out.substr(version.out.find(" (sockserv) "));
  }
  std::string first = versions.substr(0, versions.find('\n') + 1);
  BOOST_TEST(versions == first + first + first + first);
}

BOOST_AUTO_TEST_SUITE_END()
