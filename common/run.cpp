// The body of every server's main(): options, sockets, model, serve, exit status.
#include "run.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <iostream>

#include "error.hpp"
#include "log.hpp"
#include "socket.hpp"

namespace sockserv {
namespace {

// The default address: the service's own default host (cmd-server: loopback only), else
// [::]:PORT, which takes IPv4 clients too; on a machine without IPv6, 0.0.0.0:PORT.
Endpoint default_endpoint(const ServiceInfo& info) {
  Endpoint endpoint;
  endpoint.port = info.port;
  if (!info.host.empty()) {
    endpoint.host = info.host;
    return endpoint;
  }
  UniqueFd probe(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
  endpoint.host = probe ? "::" : "0.0.0.0";
  return endpoint;
}

void check_transport(const ServiceDefinition& service, const Endpoint& endpoint) {
  bool stream = is_stream(endpoint.transport);
  if ((stream && !service.stream) || (!stream && !service.datagram)) {
    throw UsageError(service.info.name + " does not serve " +
                     std::string(transport_name(endpoint.transport)) + " (" + to_string(endpoint) + ")");
  }
}

void open_standalone(Server& server, const ServiceDefinition& service, const ServerOptions& options) {
  std::vector<Endpoint> endpoints = options.listen;
  if (endpoints.empty()) endpoints.push_back(default_endpoint(service.info));
  for (const Endpoint& endpoint : endpoints) check_transport(service, endpoint);
  for (const Endpoint& endpoint : endpoints) {
    server.add_listener(open_listener(endpoint, options.server.socket));
  }
}

int serve(const ServiceDefinition& service, int argc, char** argv) {
  po::options_description own(service.info.name + " options");
  service.add_options(own);
  po::variables_map values;
  std::optional<ServerOptions> options = parse_server_options(service.info, argc, argv, own, values);
  if (!options) return EX_OK;
  service.validate();
  configure_logging(options->log);
  Server server(options->server, make_model(options->model, options->limits), service.stream,
                service.datagram);
  open_standalone(server, service, *options);
  server.serve_forever();
  return EX_OK;
}

}  // namespace

int run_service(const ServiceDefinition& service, int argc, char** argv) {
  const std::string& name = service.info.name;
  // Until the options are read, errors are logged under the program's name at info level.
  configure_logging(LogSettings{.program = name});
  try {
    return serve(service, argc, argv);
  } catch (const UsageError& e) {
    std::cerr << name << ": " << e.what() << " (see " << name << " --help)\n";
    return EX_USAGE;
  } catch (const FatalError& e) {
    log_error(e.what());
    return e.exit_code;
  } catch (const std::system_error& e) {
    log_error(e.what());
    return EX_OSERR;
  } catch (const std::exception& e) {
    log_error(e.what());
    return EX_SOFTWARE;
  }
}

}  // namespace sockserv
