// The frame every program shares: exit statuses, --version, and numbers that may not be
// negative from any of the three sources of options.
#include "program.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include "error.hpp"
#include "fd.hpp"
#include "options.hpp"

using namespace sockserv;

namespace {

// Runs `body` under run_program with its messages silenced (the test log stays readable):
// a client's go to std::cerr, a server's to the log, which writes to descriptor 2.
int status_of(ProgramKind kind, const std::function<int()>& body) {
  std::ostringstream printed;
  std::streambuf* saved = std::cerr.rdbuf(printed.rdbuf());
  UniqueFd saved_fd(::fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 0));
  UniqueFd null(::open("/dev/null", O_WRONLY | O_CLOEXEC));
  ::dup2(null.get(), STDERR_FILENO);
  int status = run_program("test-program", kind, body);
  ::dup2(saved_fd.get(), STDERR_FILENO);
  std::cerr.rdbuf(saved);
  return status;
}

// Parses `args` against one numeric option of each kind a client uses.
po::variables_map parse_numbers(std::vector<std::string> args) {
  args.insert(args.begin(), "test-client");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  po::options_description options;
  options.add_options()("count", non_negative<size_t>()->default_value(1), "")(
      "pid", non_negative<int>()->default_value(0), "")(
      "timeout", non_negative<double>()->default_value(5), "");
  po::variables_map values;
  parse_all_sources(static_cast<int>(argv.size()), argv.data(), options, nullptr, values);
  return values;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(program)

BOOST_AUTO_TEST_CASE(exceptions_become_sysexits_statuses_for_clients_and_servers) {
  for (ProgramKind kind : {ProgramKind::client, ProgramKind::server}) {
    BOOST_TEST(status_of(kind, [] { return 3; }) == 3);
    BOOST_TEST(status_of(kind, []() -> int { throw UsageError("bad"); }) == EX_USAGE);
    BOOST_TEST(status_of(kind, []() -> int { throw FatalError(EX_CONFIG, "no"); }) == EX_CONFIG);
    BOOST_TEST(status_of(kind, []() -> int { throw ProtocolError("x"); }) == EX_PROTOCOL);
    BOOST_TEST(status_of(kind, []() -> int { throw TimeoutError("x"); }) == EX_TEMPFAIL);
    BOOST_TEST(status_of(kind, []() -> int { throw std::logic_error("x"); }) == EX_SOFTWARE);
  }
  auto refused = []() -> int { throw std::system_error(ECONNREFUSED, std::generic_category()); };
  BOOST_TEST(status_of(ProgramKind::client, refused) == EX_UNAVAILABLE);
  BOOST_TEST(status_of(ProgramKind::server, refused) == EX_OSERR);
}

BOOST_AUTO_TEST_CASE(a_usage_error_names_the_program_and_points_to_help) {
  std::ostringstream printed;
  std::streambuf* saved = std::cerr.rdbuf(printed.rdbuf());
  run_program("test-program", ProgramKind::server, []() -> int { throw UsageError("bad x"); });
  std::cerr.rdbuf(saved);
  BOOST_TEST(printed.str() == "test-program: bad x (see test-program --help)\n");
}

BOOST_AUTO_TEST_CASE(version_and_help_forms) {
  std::ostringstream version;
  print_version(version, "echo-client");
  BOOST_TEST(version.str() == std::string("echo-client (sockserv) ") + kVersion + "\n");
  std::ostringstream help;
  po::options_description options("echo-client options");
  options.add_options()("count", non_negative<int>()->default_value(1), "how many times");
  print_help(help, "echo-client", "ADDR", "Sends lines.", options);
  BOOST_TEST(help.str().rfind("Usage: echo-client ADDR\nSends lines.\n\n", 0) == 0u, help.str());
  BOOST_TEST(help.str().find("--count arg (=1)") != std::string::npos, help.str());
}

BOOST_AUTO_TEST_CASE(numbers_of_zero_and_more_are_taken) {
  po::variables_map values = parse_numbers({"--count", "0", "--pid", "42", "--timeout", "0.5"});
  BOOST_TEST(values["count"].as<size_t>() == 0u);
  BOOST_TEST(values["pid"].as<int>() == 42);
  BOOST_TEST(values["timeout"].as<double>() == 0.5);
}

// "-1" for a size_t would otherwise be 18446744073709551615, silently.
BOOST_AUTO_TEST_CASE(negative_numbers_are_usage_errors_naming_the_option) {
  const std::vector<std::vector<std::string>> kNegative = {{"--count", "-1"},
                                                           {"--count=-1"},
                                                           {"--pid", "-1"},
                                                           {"--timeout", "-0.5"},
                                                           {"--count", " -3"}};
  for (const std::vector<std::string>& args : kNegative) {
    try {
      parse_numbers(args);
      BOOST_ERROR("accepted " << args[0]);
    } catch (const UsageError& e) {
      std::string message = e.what();
      BOOST_TEST(message.find("must not be negative") != std::string::npos, message);
      BOOST_TEST(message.find("--" + args[0].substr(2, args[0].find_first_of(" =", 2) - 2)) !=
                     std::string::npos,
                 message);
    }
  }
}

BOOST_AUTO_TEST_CASE(negative_numbers_from_the_environment_are_refused_too) {
  ::setenv("SOCKSERV_COUNT", "-1", 1);
  BOOST_CHECK_THROW(parse_numbers({}), UsageError);
  ::unsetenv("SOCKSERV_COUNT");
  BOOST_TEST(parse_numbers({})["count"].as<size_t>() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
