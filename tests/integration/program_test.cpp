// What clients and servers share through one program wrapper: the same exit status for a
// bad command line, the same --version line, and negative numbers refused by every client.
#include <sysexits.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <regex>

#include "harness.hpp"
#include "peers.hpp"

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

// Boost would read "-1" for an unsigned option as 18446744073709551615: chat-bench would
// then send lines forever, loadgen run for a negative time.
BOOST_AUTO_TEST_CASE(negative_numbers_are_usage_errors_in_every_client) {
  const std::vector<std::pair<std::string, std::vector<std::string>>> kCases = {
      {"chat-bench", {"127.0.0.1:1", "--lines", "-1"}},
      {"chat-bench", {"127.0.0.1:1", "--server-pid=-1"}},
      {"loadgen", {"127.0.0.1:1", "--duration", "-1"}},
      {"echo-client", {"127.0.0.1:1", "--message", "x", "--count", "-2"}},
      {"file-client", {"127.0.0.1:1", "list", "--timeout", "-1"}},
  };
  for (const auto& [program, args] : kCases) {
    RunResult r = run_program(program, args, "", 5000ms);
    BOOST_TEST(r.exit_code == EX_USAGE, program << " " << args[1] << ": " << r.err);
    // loadgen checks ranges of its own ("must be > 0"); the others say "must not be negative".
    BOOST_TEST(r.err.find("must") != std::string::npos, program << ": " << r.err);
  }
  // A negative-looking argument that is not a number stays what it is.
  RunResult message = run_program("echo-client", {"127.0.0.1:1", "--message", "-1"}, "", 5000ms);
  BOOST_TEST(message.exit_code != EX_USAGE, message.err);
}

// Boost.Program_options replaces %value% in its error message with the value until none is
// left: a value holding "%value%" made every program hang at start, memory growing (found by
// the options fuzz target). Each source: command line, SOCKSERV_ variable, config file.
BOOST_AUTO_TEST_CASE(a_bad_value_holding_a_boost_placeholder_is_a_usage_error_not_a_hang) {
  TempDir dir("percent");
  dir.write("bad.conf", "max-children = x%value%\n");
  const std::vector<std::vector<std::string>> kCases = {
      {"--max-children", "x%value%"},
      {"--no-such-%original_token%"},
      {"--config", (dir.path / "bad.conf").string()},
  };
  for (const std::vector<std::string>& args : kCases) {
    RunResult r = run_program("echo-server", args, "", 10000ms);
    BOOST_TEST(r.exit_code == EX_USAGE, args[0] << ": " << r.err);
    BOOST_TEST(r.err.find("(see echo-server --help)") != std::string::npos, r.err);
  }
  RunResult env = run_program(
      "/usr/bin/env",
      {"SOCKSERV_MAX_THREADS=%value%%value%", bin_path("echo-server"), "--listen", "127.0.0.1:0"},
      "", 10000ms);
  BOOST_TEST(env.exit_code == EX_USAGE, env.err);
  // A '%' in a good value is still fine, and a bad one without '%' keeps Boost's own message.
  RunResult plain = run_program("echo-server", {"--max-children", "lots"}, "", 10000ms);
  BOOST_TEST(plain.err.find("'lots'") != std::string::npos, plain.err);
}

namespace {

// Every program of the suite, with arguments that make everything else on its command line
// valid: then a usage error can only come from the option under test.
struct ProgramUnderTest {
  std::string name;
  std::vector<std::string> valid_args;
};

std::vector<ProgramUnderTest> every_program() {
  std::vector<ProgramUnderTest> programs;
  for (const ServiceRow& row : built_services()) {
    std::vector<std::string> args{"--listen", "127.0.0.1:0"};
    if (row.name == "file-server") args.insert(args.end(), {"--root", "/tmp"});
    programs.push_back({row.name, args});
  }
  for (const char* client : {"echo-client", "chat-client", "chat-bench", "cmd-client",
                             "daytime-client", "time-client", "loadgen"})
    programs.push_back({client, {"127.0.0.1:1"}});
  programs.push_back({"file-client", {"127.0.0.1:1", "list"}});
  programs.push_back({"http-client", {"http://127.0.0.1:1/"}});
  programs.push_back({"mail-client",
                      {"--server", "127.0.0.1:1", "--from", "a@example.org", "--to",
                       "b@example.org", "--subject", "x"}});
  return programs;
}

// The options --help shows with a numeric default: "--max-children arg (=40)",
// "-c [ --connections ] arg (=10)". Every count, size and time option has one.
std::vector<std::string> numeric_options(const std::string& help) {
  static const std::regex kNumeric(R"(--([a-z0-9-]+)(?: \])? arg \(=[0-9.]+\))");
  std::vector<std::string> names;
  for (auto it = std::sregex_iterator(help.begin(), help.end(), kNumeric);
       it != std::sregex_iterator(); ++it)
    names.push_back((*it)[1]);
  return names;
}

}  // namespace

// Defect: "--max-children -1" ran unlimited children and "cmd-server --max-output -1" let one
// request keep 2 GB. Every count, size and duration option of every program, found in its
// --help, refuses a negative and a too-large value as a usage error naming the option.
BOOST_AUTO_TEST_CASE(every_numeric_option_of_every_program_refuses_negative_and_huge_values) {
  size_t checked = 0;
  for (const ProgramUnderTest& program : every_program()) {
    RunResult help = run_program(program.name, {"--help"}, "", 5000ms);
    BOOST_TEST_REQUIRE(help.exit_code == 0, program.name << ": " << help.err);
    std::vector<std::string> options = numeric_options(help.out);
    bool server = program.valid_args.front() == "--listen";
    BOOST_TEST((!server || options.size() >= 15u), program.name << " shows only " << options.size()
                                                                << " numeric options:\n"
                                                                << help.out);
    for (const std::string& option : options) {
      for (const char* bad : {"-1", "99999999999999999999999"}) {
        std::vector<std::string> args = program.valid_args;
        args.insert(args.end(), {"--" + option, bad});
        RunResult r = run_program(program.name, args, "", 5000ms);
        BOOST_TEST(r.exit_code == EX_USAGE, program.name << " --" << option << " " << bad << ": "
                                                         << r.exit_code << " " << r.err);
        BOOST_TEST(r.err.find(option) != std::string::npos,
                   program.name << " --" << option << " " << bad << ": " << r.err);
        ++checked;
      }
    }
  }
  BOOST_TEST(checked >= 100u);  // the servers alone have more than 15 numeric options each
}

BOOST_AUTO_TEST_CASE(help_and_version_answer_for_every_program_without_its_required_options) {
  for (const ProgramUnderTest& program : every_program()) {
    // No arguments but the one asked for: file-server's --root and a client's ADDR are missing,
    // and an unknown SOCKSERV_ variable in the environment does not get in the way either.
    for (const char* flag : {"--help", "--version"}) {
      RunResult r = run_program(program.name, {flag}, "", 5000ms, {"SOCKSERV_BOGUS=1"});
      BOOST_TEST(r.exit_code == 0, program.name << " " << flag << ": " << r.err);
      BOOST_TEST(r.out.find(program.name) != std::string::npos, program.name << ": " << r.out);
    }
  }
}

// A server offers --udp-rate only when it has a udp form: chat, file and cmd have none.
BOOST_AUTO_TEST_CASE(only_servers_with_a_udp_form_offer_udp_rate) {
  for (const char* program :
       {"echo-server", "discard-server", "chargen-server", "daytime-server", "time-server"}) {
    RunResult help = run_program(program, {"--help"}, "", 5000ms);
    BOOST_TEST(help.out.find("--udp-rate") != std::string::npos, program << ": " << help.out);
  }
  for (const char* program : {"chat-server", "cmd-server", "file-server"}) {
    RunResult help = run_program(program, {"--help"}, "", 5000ms);
    BOOST_TEST(help.exit_code == 0, program << ": " << help.err);
    BOOST_TEST(help.out.find("--udp-rate") == std::string::npos, program << ": " << help.out);
  }
}

// Defect: SOCKSERV_BOGUS was silently ignored while an unknown config key was fatal.
BOOST_AUTO_TEST_CASE(an_unknown_sockserv_variable_is_a_usage_error_naming_it) {
  for (const ProgramUnderTest& program : every_program()) {
    RunResult r = run_program(program.name, program.valid_args, "", 5000ms, {"SOCKSERV_BOGUS=1"});
    BOOST_TEST(r.exit_code == EX_USAGE, program.name << ": " << r.exit_code << " " << r.err);
    BOOST_TEST(r.err.find("SOCKSERV_BOGUS") != std::string::npos, program.name << ": " << r.err);
  }
  // The variables the tools themselves set are not options and not errors.
  RunResult peer = run_program("echo-client", {"127.0.0.1:1", "--message", "x", "--timeout", "1"},
                               "", 5000ms, {"SOCKSERV_PEER=127.0.0.1:5"});
  BOOST_TEST(peer.exit_code == EX_UNAVAILABLE, peer.err);
}

BOOST_AUTO_TEST_SUITE_END()
