// What every client's main() shares: option parsing with --help and --version, and turning
// failures into a message and a sysexits(3) exit status (both from program.hpp, shared with
// the servers). Numeric options are declared with non_negative<T>().
#pragma once

#include <boost/program_options.hpp>
#include <functional>
#include <string>

#include "program.hpp"

namespace sockserv {

struct ClientInfo {
  std::string name;     // "echo-client"
  std::string usage;    // "ADDR [--message TEXT --count N]"
  std::string summary;  // one line
};

/// Parses the options (command line, SOCKSERV_* variables, --config), then calls `body`.
/// --help/--version print and return 0. Usage errors return 64, failures 69-75 with a
/// message on stderr; `body`'s own return value is the exit status otherwise.
int run_client(const ClientInfo& info, int argc, char** argv, po::options_description& options,
               const po::positional_options_description& positional,
               const std::function<int(const po::variables_map&)>& body);

}  // namespace sockserv
