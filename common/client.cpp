// The frame of every client's main().
#include "client.hpp"

#include <iostream>

#include "error.hpp"
#include "log.hpp"
#include "options.hpp"
#include "signals.hpp"

namespace sockserv {

int run_client(const ClientInfo& info, int argc, char** argv, po::options_description& options,
               const po::positional_options_description& positional,
               const std::function<int(const po::variables_map&)>& body) {
  configure_logging(LogSettings{.program = info.name, .level = LogLevel::warning});
  options.add_options()("help,h", "show this help and exit")("version", "show the version and exit");
  try {
    po::variables_map values;
    parse_all_sources(argc, argv, options, &positional, values);
    if (values.count("help") != 0U) {
      std::cout << "Usage: " << info.name << " " << info.usage << "\n" << info.summary << "\n\n" << options << "\n";
      return EX_OK;
    }
    if (values.count("version") != 0U) {
      std::cout << info.name << " (sockserv) " << kVersion << "\n";
      return EX_OK;
    }
    // Writing to a server that has gone away must be an error we report, not a silent death.
    ignore_sigpipe();
    return body(values);
  } catch (const UsageError& e) {
    std::cerr << info.name << ": " << e.what() << " (see " << info.name << " --help)\n";
    return EX_USAGE;
  } catch (const ProtocolError& e) {
    std::cerr << info.name << ": " << e.what() << "\n";
    return EX_PROTOCOL;
  } catch (const TimeoutError& e) {
    std::cerr << info.name << ": " << e.what() << "\n";
    return EX_TEMPFAIL;
  } catch (const std::system_error& e) {
    std::cerr << info.name << ": " << e.what() << "\n";
    return EX_UNAVAILABLE;
  } catch (const std::exception& e) {
    std::cerr << info.name << ": " << e.what() << "\n";
    return EX_SOFTWARE;
  }
}

}  // namespace sockserv
