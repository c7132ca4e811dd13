// The frame of every client's main().
#include "client.hpp"

#include <iostream>

#include "error.hpp"
#include "log.hpp"
#include "options.hpp"
#include "program.hpp"
#include "signals.hpp"

namespace sockserv {

int run_client(const ClientInfo& info, int argc, char** argv, po::options_description& options,
               const po::positional_options_description& positional,
               const std::function<int(const po::variables_map&)>& body) {
  configure_logging(LogSettings{.program = info.name, .level = LogLevel::warning});
  options.add_options()("help,h", "show this help and exit")("version",
                                                             "show the version and exit");
  return run_program(info.name, ProgramKind::client, [&] {
    po::variables_map values;
    parse_all_sources(argc, argv, options, &positional, values);
    if (values.count("help") != 0U) {
      print_help(std::cout, info.name, info.usage, info.summary, options);
      return EX_OK;
    }
    if (values.count("version") != 0U) {
      print_version(std::cout, info.name);
      return EX_OK;
    }
    // Writing to a server that has gone away must be an error we report, not a silent death.
    ignore_sigpipe();
    return body(values);
  });
}

}  // namespace sockserv
