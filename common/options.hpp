// Options shared by every program, read with Boost.Program_options from the command line,
// an optional config file (--config) and SOCKSERV_* environment variables, in that order of
// precedence (SOCKSERV_MAX_CHILDREN=10 is --max-children 10).
#pragma once

#include <boost/program_options.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "address.hpp"
#include "log.hpp"
#include "models/model.hpp"
#include "privileges.hpp"
#include "server_settings.hpp"

namespace sockserv {

namespace po = boost::program_options;

/// What a server program is: its name, default port and one line of description.
struct ServiceInfo {
  std::string name;                // "echo-server"
  uint16_t port = 0;               // the well-known port, used when no --listen is given
  std::string summary;             // one line for --help
  size_t udp_reply_allowance = 0;  // see ServerSettings
  bool chroot_option = false;      // offer --chroot DIR (file-server)
  bool refuse_root = false;  // refuse to serve as root unless --user or --allow-root (cmd-server)
  std::string udp_opt_in = {};  // non-empty: udp is off unless this flag is given ("udp-chargen")
  std::string host{};           // default host when no --listen is given ("": [::], every address)
  bool uses_hub = false;        // its connections talk to each other (chat): the server makes a hub
  bool serves_datagrams = false;  // has a udp/unixgram form: offer --udp-rate (run() sets it)
  /// Its access log lines are its own, one per request (http-server's Common Log Format): the
  /// per-connection lines are left out, so that the file holds one format only.
  bool request_log = false;
  /// Offer --allow-subject: with mutual TLS, serve only the clients whose certificate names
  /// one of these subjects (file-server, cmd-server: what a client may do matters).
  bool subject_option = false;
};

/// Everything the shared options decide.
struct ServerOptions {
  ServerSettings server;
  std::vector<Endpoint> listen;  // empty: the default [::]:PORT
  std::string model = "fork";
  ModelOptions limits;
  LogSettings log;
  bool inetd = false;            // --inetd: the socket is on fd 0
  Millis exit_idle{10'000};      // a server of activated listening/udp sockets exits when idle
  PrivilegeSettings privileges;  // --user, --group, --chroot, --allow-root
  bool udp_allowed = true;       // false: the service's udp opt-in flag was not given
};

/// Parses the shared options plus the service's own (`service_options`). Returns nullopt when
/// the program should exit 0 at once (--help, --version, already printed). Throws UsageError.
std::optional<ServerOptions> parse_server_options(const ServiceInfo& info, int argc, char** argv,
                                                  const po::options_description& service_options,
                                                  po::variables_map& values);

/// Stores the command line, SOCKSERV_* variables and the --config file into `values`.
/// Shared by servers and clients. Throws UsageError with Boost's message on bad input.
void parse_all_sources(int argc, char** argv, const po::options_description& visible,
                       const po::positional_options_description* positional,
                       po::variables_map& values);

/// Converts a number of seconds from a duration option to milliseconds. The one meaning of 0
/// for every duration (timeouts, drain, idle, exit-idle): no limit. 0 stays 0; wait on it with
/// Deadline::after_or_never, never with Deadline::after. Throws UsageError when negative.
Millis seconds_option(double seconds, const char* name);

}  // namespace sockserv
