// What every program's main() shares, client or server: --help and --version printed in one
// form, and one mapping from the exception that ends a
// program to its message and sysexits(3) exit status.
#pragma once

#include <boost/program_options.hpp>
#include <functional>
#include <ostream>
#include <string>

namespace sockserv {

namespace po = boost::program_options;

/// The version every program prints for --version.
inline constexpr const char* kVersion = "0.1.0";

/// Who reads a program's failure, and what a failed system call most likely means.
enum class ProgramKind {
  client,  // a user at a terminal: the message on stderr; a system error is 69 (EX_UNAVAILABLE:
           // the server is down or unreachable)
  server,  // an administrator: the message in the log (journal, syslog); a system error is 71
           // (EX_OSERR: the system refused us something)
};

/// Runs `body` and returns its status. What it throws becomes a message and a status:
/// UsageError 64 (pointing to --help), FatalError its own code, ProtocolError 76,
/// TimeoutError 75, std::system_error 69 or 71 (see ProgramKind), anything else 70.
int run_program(const std::string& name, ProgramKind kind, const std::function<int()>& body);

/// Prints --help: "Usage: NAME USAGE", the summary (which may run to several lines), a blank
/// line, then the options.
void print_help(std::ostream& out, const std::string& name, const std::string& usage,
                const std::string& summary, const po::options_description& options);

/// Prints --version: "NAME (sockserv) VERSION".
void print_version(std::ostream& out, const std::string& name);

/// An option value for a number: po::value<T>(store). Every number our programs take is a
/// count, a size, a duration, a rate or a pid; parse_all_sources (options.hpp) refuses a
/// negative, non-finite or out-of-range number for EVERY numeric option, however declared,
/// from every source (command line, SOCKSERV_* variables, --config), as a usage error naming
/// the option. This name only says at the declaration that the check applies.
template <typename T>
po::typed_value<T>* non_negative(T* store = nullptr) {
  return po::value<T>(store);
}

}  // namespace sockserv
