// The body of every server's main(): options, sockets, model, serve, exit status.
#include "run.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "activation.hpp"
#include "error.hpp"
#include "log.hpp"
#include "privileges.hpp"
#include "program.hpp"
#include "server.hpp"
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

void check_transport(const ServiceDefinition& service, const ServerOptions& options,
                     Transport transport, const std::string& where) {
  bool stream = is_stream(transport);
  if ((stream && !service.stream) || (!stream && !service.datagram)) {
    throw UsageError(service.info.name + " does not serve " +
                     std::string(transport_name(transport)) + " (" + where + ")");
  }
  if (!stream && !options.udp_allowed) {
    throw UsageError(service.info.name + " serves " + std::string(transport_name(transport)) +
                     " only with --" + service.info.udp_opt_in +
                     " (a spoofed request would make it a traffic reflector): " + where);
  }
}

void open_standalone(Server& server, const ServiceDefinition& service,
                     const ServerOptions& options) {
  std::vector<Endpoint> endpoints = options.listen;
  if (endpoints.empty()) endpoints.push_back(default_endpoint(service.info));
  size_t per_port = server.model().listeners_per_port();
  for (const Endpoint& endpoint : endpoints) {
    for (Listener& listener : open_listener_per_worker(endpoint, options.server.socket, per_port))
      server.add_listener(std::move(listener));
  }
}

// Takes the sockets systemd or inetd passed; false when there are none (standalone). A
// connected socket (Accept=yes, inetd nowait) goes to `connection` instead of the server.
bool open_activated(Server& server, const ServiceDefinition& service, const ServerOptions& options,
                    UniqueFd& connection) {
  std::optional<ActivatedSockets> sockets =
      options.inetd ? std::optional<ActivatedSockets>(inetd_socket()) : systemd_sockets();
  if (!sockets) return false;
  if (!options.listen.empty())
    log_info("--listen ignored: the sockets come from ", sockets->source);
  if (sockets->connection) {
    check_transport(service, options, Transport::tcp, "the connection from " + sockets->source);
    connection = std::move(sockets->connection);
    return true;
  }
  for (size_t i = 0; i < sockets->listeners.size(); ++i) {
    Listener& listener = sockets->listeners[i];
    check_transport(service, options, listener.transport(), to_string(listener.local()));
    log_info("socket from ", sockets->source,
             sockets->names[i].empty() ? std::string() : " (" + sockets->names[i] + ")");
    server.add_listener(std::move(listener));
  }
  return true;
}

// Before any socket is opened: a service that runs programs for its clients (cmd-server)
// refuses to end up as root unless told it is meant, and says so before any "listening on".
void refuse_root(const ServiceInfo& info, const PrivilegeDrop& drop) {
  if (info.refuse_root && drop.stays_root() && !drop.settings.allow_root) {
    throw FatalError(EX_CONFIG,
                     info.name + " will not run as root: give --user NAME (or --allow-root)");
  }
}

// Serves on the sockets it was given (or opened itself): one connection (inetd nowait), or
// listeners until stopped. Sockets from inetd or systemd that the server accepts or receives
// on itself (inetd "wait", Accept=no) are given back after --exit-idle without a request:
// inetd or systemd listens again and starts the server on the next client.
void serve_sockets(Server& server, UniqueFd connection, bool activated, Millis exit_idle) {
  if (connection) {
    server.serve_one_connection(std::move(connection));
  } else if (activated && exit_idle.count() > 0) {
    server.serve_until_idle(exit_idle);
  } else {
    server.serve_forever();
  }
}

// --access-log - writes to standard output, which under inetd (and a systemd Accept=yes unit
// with StandardOutput=socket) is the client's own connection: refused, never mixed in.
void check_access_log_target(const ServerOptions& options, int connection) {
  if (options.server.access_log != "-") return;
  if (options.inetd) {
    throw UsageError(
        "--access-log - would write into the client's connection under --inetd: give a FILE or "
        "syslog");
  }
  struct stat out {
  }, client{};
  if (connection >= 0 && ::fstat(STDOUT_FILENO, &out) == 0 && ::fstat(connection, &client) == 0 &&
      out.st_dev == client.st_dev && out.st_ino == client.st_ino) {
    throw UsageError(
        "--access-log -: standard output is the client's connection: give a FILE or syslog");
  }
}

int serve(const ServiceDefinition& service, int argc, char** argv) {
  po::options_description own(service.info.name + " options");
  service.add_options(own);
  po::variables_map values;
  std::optional<ServerOptions> options =
      parse_server_options(service.info, argc, argv, own, values);
  if (!options) return EX_OK;
  service.validate();
  check_access_log_target(*options, -1);
  // inetd passes the connection as stderr too: log lines must not go into the client's stream.
  if (options->inetd && stderr_is_stdin_socket()) options->log.syslog = true;
  configure_logging(options->log);
  // A bad command line is a usage error before anything else is looked at.
  for (const Endpoint& e : options->listen)
    check_transport(service, *options, e.transport, to_string(e));
  // Users, groups and the root refusal are checked before binding: a server that is going to
  // fail must not first log that it is listening.
  PrivilegeDrop drop = plan_privilege_drop(options->privileges);
  refuse_root(service.info, drop);
  Server server(options->server, make_model(options->model, options->limits), service.stream,
                service.datagram);
  if (service.uses_hub) server.enable_hub();
  UniqueFd connection;
  bool activated = open_activated(server, service, *options, connection);
  if (!activated) open_standalone(server, service, *options);
  check_access_log_target(*options, connection ? connection.get() : -1);
  // The sockets are open: the privileges that bound them are no longer needed.
  drop_privileges(drop);
  if (drop.stays_root())
    log_warning("running as root: give --user NAME to drop privileges after binding");
  serve_sockets(server, std::move(connection), activated, options->exit_idle);
  return EX_OK;
}

}  // namespace

int run_service(const ServiceDefinition& service, int argc, char** argv) {
  const std::string& name = service.info.name;
  // Until the options are read, errors are logged under the program's name at info level.
  configure_logging(LogSettings{.program = name});
  return run_program(name, ProgramKind::server, [&] { return serve(service, argc, argv); });
}

}  // namespace sockserv
