// The shared server options and the three places they come from.
#include "options.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <sstream>

#include "error.hpp"
#include "program.hpp"

namespace sockserv {
namespace {

po::options_description shared_server_options() {
  po::options_description desc("Shared server options");
  desc.add_options()(
      "listen", po::value<std::vector<std::string>>()->composing(),
      "address to serve, repeatable: HOST:PORT, [V6]:PORT, udp:HOST:PORT, unix:PATH, "
      "unixgram:PATH (default: [::]:PORT of the service, tcp, IPv4 and IPv6)")(
      "model", po::value<std::string>()->default_value("fork"),
      ("concurrency model: " + model_names() +
       " (--list-models shows who accepts and who runs "
       "a connection in each)")
          .c_str())("list-models",
                    "list the models, one per line with who accepts and who serves, and exit")(
      "max-children", non_negative<size_t>()->default_value(40),
      "fork: at most this many children; more clients wait in the backlog")(
      "max-threads", non_negative<size_t>()->default_value(128),
      "thread: at most this many threads; more clients wait in the backlog")(
      "workers", non_negative<size_t>()->default_value(0),
      "prefork, prethread: processes or threads in the pool (0: 8 and 16); epoll: event loops "
      "(0: one per CPU), each with a listening socket of its own on every TCP port")(
      "accept-lock", po::value<std::string>()->default_value("none"),
      "prefork, prethread: how workers take turns at accept: none, flock (prefork: a record "
      "lock on a shared file) or mutex")(
      "pass-fd", po::bool_switch(),
      "prefork: the parent accepts and passes each connection to an idle worker")(
      "min-spare", non_negative<size_t>()->default_value(0),
      "prefork: start workers when fewer than this many are idle (0: a fixed pool)")(
      "max-spare", non_negative<size_t>()->default_value(0),
      "prefork: retire idle workers above this many (default: twice --min-spare)")(
      "max-workers", non_negative<size_t>()->default_value(256),
      "prefork: the pool never grows past this")(
      "max-requests", non_negative<size_t>()->default_value(0),
      "prefork: a worker exits after serving this many connections and is replaced (0: never)")(
      "main-accept", po::bool_switch(),
      "prethread: the main thread accepts into a queue the workers take from")(
      "queue-size", non_negative<size_t>()->default_value(1024),
      "prethread --main-accept: connections waiting for a worker; more wait in the backlog")(
      "stats", po::bool_switch(),
      "on exit and on SIGUSR1 log per worker: connections accepted, "
      "empty wake-ups, CPU time, peak RSS")("backlog", po::value<int>()->default_value(SOMAXCONN),
                                            "listen(2) backlog")(
      "reuse-port", po::bool_switch(), "set SO_REUSEPORT (share the port with other servers)")(
      "sndbuf", po::value<int>()->default_value(0), "SO_SNDBUF in bytes (0: kernel default)")(
      "rcvbuf", po::value<int>()->default_value(0), "SO_RCVBUF in bytes (0: kernel default)")(
      "nodelay", po::bool_switch(), "set TCP_NODELAY on connections (no Nagle delay)")(
      "unix-mode", po::value<std::string>(), "permissions of unix socket files, octal (e.g. 0660)")(
      "idle-timeout", po::value<double>()->default_value(300),
      "seconds a client may stay silent between messages before it is disconnected (0: no "
      "limit)")("message-timeout", po::value<double>()->default_value(30),
                "seconds a client has to send one whole message once its first byte came: a "
                "line, a frame header, 64 KiB of a frame body (0: no limit)")(
      "drain-timeout", po::value<double>()->default_value(10),
      "on SIGTERM/SIGINT, seconds to let busy connections finish before ending them (idle "
      "ones, waiting for a new message, are closed at once; 0: no limit; a second signal ends "
      "them at once)")(
      "access-log", po::value<std::string>(),
      "one line per connection when it ends (http-server: per request, Common Log Format; "
      "docs/access-log.md): FILE (appended to; "
      "reopened on SIGHUP), - (standard output; not with --inetd) or syslog (daemon.info)")(
      "log-level", po::value<std::string>()->default_value("info"),
      "error, warning, notice, info or debug")("syslog", po::bool_switch(),
                                               "log to syslog instead of stderr");
  return desc;
}

po::options_description activation_options(const ServiceInfo& info) {
  po::options_description desc("Activation, limits and privileges");
  desc.add_options()("inetd", po::bool_switch(),
                     "serve the socket inetd passes on fd 0: one connection "
                     "(nowait), or a listening or udp socket (wait)")(
      "exit-idle", po::value<double>()->default_value(10),
      "a server given its listening or udp socket by inetd (wait) or systemd (Accept=no) exits "
      "after this many seconds without a client, and is started again on the next (0: no "
      "limit, never)")("user", po::value<std::string>(),
                       "after binding, drop privileges to this user")(
      "group", po::value<std::string>(), "with --user: this group instead of the user's own")(
      "allow-from", po::value<std::vector<std::string>>()->composing(),
      "serve only clients in this range, repeatable: 127.0.0.1, 10.0.0.0/8, ::1, 2001:db8::/32")(
      "deny-from", po::value<std::vector<std::string>>()->composing(),
      "refuse clients in this range, repeatable (wins over --allow-from)")(
      "max-per-source", non_negative<size_t>(),
      "at most this many requests in flight from one address (0: no limit; default: half "
      "the --workers of prefork and prethread, no limit under the other models)")(
      "max-rate", non_negative<size_t>()->default_value(0),
      "at most this many new connections or datagrams per second from one address (0: no limit)")(
      "proxy-protocol", po::bool_switch(),
      "clients come through a proxy (HAProxy send-proxy or send-proxy-v2) that names each in "
      "a PROXY header, v1 or v2: logs, limits and SOCKSERV_PEER then see the real client")(
      "trusted-proxy", po::value<std::vector<std::string>>()->composing(),
      "with --proxy-protocol: the proxies' address range, repeatable; a tcp client from "
      "anywhere else is refused");
  if (info.serves_datagrams) {  // chat, file and cmd have no udp form: no udp option either
    desc.add_options()("udp-rate", non_negative<size_t>()->default_value(100),
                       "udp: at most this many replies per second to one address, in bursts of "
                       "as many (0: no limit); datagrams over it are dropped unanswered");
  }
  if (info.chroot_option) {
    desc.add_options()("chroot", po::value<std::string>(),
                       "after binding, chroot(2) to this directory");
  }
  if (info.refuse_root) {
    desc.add_options()("allow-root", po::bool_switch(),
                       "serve even when running as root without --user");
  }
  if (!info.udp_opt_in.empty()) {
    desc.add_options()(
        info.udp_opt_in.c_str(), po::bool_switch(),
        "serve udp too (off by default: a spoofed request makes udp a traffic reflector)");
  }
  return desc;
}

std::vector<Cidr> ranges(const po::variables_map& values, const char* name) {
  std::vector<Cidr> result;
  if (values.count(name) == 0U) return result;
  for (const std::string& text : values[name].as<std::vector<std::string>>())
    result.push_back(parse_cidr(text));
  return result;
}

void read_activation_options(const ServiceInfo& info, const po::variables_map& values,
                             ServerOptions& options) {
  options.inetd = values["inetd"].as<bool>();
  options.exit_idle = seconds_option(values["exit-idle"].as<double>(), "exit-idle");
  auto text = [&](const char* name) {
    return values.count(name) != 0U ? values[name].as<std::string>() : std::string();
  };
  options.privileges.user = text("user");
  options.privileges.group = text("group");
  if (info.chroot_option) options.privileges.chroot_dir = text("chroot");
  if (info.refuse_root) options.privileges.allow_root = values["allow-root"].as<bool>();
  if (!info.udp_opt_in.empty()) options.udp_allowed = values[info.udp_opt_in].as<bool>();
  AccessSettings& access = options.server.access;
  access.allow = ranges(values, "allow-from");
  access.deny = ranges(values, "deny-from");
  if (values.count("max-per-source") != 0U)
    access.max_per_source = values["max-per-source"].as<size_t>();
  access.max_rate = values["max-rate"].as<size_t>();
  constexpr size_t kMaxPerSource = 1'000'000;  // more than any machine's descriptors: a typo
  constexpr size_t kMaxRate = 1'000'000'000;
  if (access.max_per_source > kMaxPerSource || access.max_rate > kMaxRate)
    throw UsageError("--max-per-source is at most 1000000, --max-rate 1000000000 (0: no limit)");
  if (values.count("udp-rate") != 0U)
    options.server.udp_guard.rate_per_source = values["udp-rate"].as<size_t>();
  ProxySettings& proxy = options.server.proxy;
  proxy.enabled = values["proxy-protocol"].as<bool>();
  proxy.trusted = ranges(values, "trusted-proxy");
  // Believing a PROXY header from anyone would let any client claim any address.
  if (proxy.enabled && proxy.trusted.empty()) {
    throw UsageError("--proxy-protocol needs --trusted-proxy: who may name the clients?");
  }
  if (!proxy.enabled && !proxy.trusted.empty()) {
    throw UsageError("--trusted-proxy is only meaningful with --proxy-protocol");
  }
}

po::options_description tls_options(const ServiceInfo& info) {
  po::options_description desc("TLS (docs/tls.md)");
  desc.add_options()("tls-cert", po::value<std::string>(),
                     "serve TLS on the tcp and unix stream addresses with this certificate "
                     "(PEM, then its chain); reloaded on SIGHUP")(
      "tls-key", po::value<std::string>(),
      "the certificate's private key (PEM, unencrypted); reloaded on SIGHUP")(
      "tls-client-ca", po::value<std::string>(),
      "mutual TLS: clients must show a certificate signed by this CA (PEM); its subject is "
      "logged")("tls-handshake-timeout", po::value<double>()->default_value(10),
                "seconds a client has to complete the TLS handshake once connected (0: no "
                "limit)");
  if (info.subject_option) {
    desc.add_options()("allow-subject", po::value<std::vector<std::string>>()->composing(),
                       "with --tls-client-ca: serve only clients whose certificate subject is "
                       "this, in RFC 2253 form as logged (O=Example,CN=alice), repeatable");
  }
  return desc;
}

void read_tls_options(const ServiceInfo& info, const po::variables_map& values,
                      TlsServerSettings& tls) {
  auto text = [&](const char* name) {
    return values.count(name) != 0U ? values[name].as<std::string>() : std::string();
  };
  tls.cert_file = text("tls-cert");
  tls.key_file = text("tls-key");
  tls.client_ca_file = text("tls-client-ca");
  tls.handshake_timeout =
      seconds_option(values["tls-handshake-timeout"].as<double>(), "tls-handshake-timeout");
  if (info.subject_option && values.count("allow-subject") != 0U)
    tls.allowed_subjects = values["allow-subject"].as<std::vector<std::string>>();
  if (tls.cert_file.empty() != tls.key_file.empty())
    throw UsageError("--tls-cert and --tls-key go together: give both, or neither");
  if (!tls.client_ca_file.empty() && tls.cert_file.empty())
    throw UsageError("--tls-client-ca needs --tls-cert and --tls-key: mutual TLS is TLS first");
  if (!tls.allowed_subjects.empty() && tls.client_ca_file.empty())
    throw UsageError("--allow-subject needs --tls-client-ca: without it no client shows a subject");
}

po::options_description generic_options() {
  po::options_description desc("General options");
  desc.add_options()("help,h", "show this help and exit")("version", "show the version and exit")(
      "config", po::value<std::string>(), "read options from this file (name = value lines)");
  return desc;
}

int parse_mode(const std::string& text) {
  size_t used = 0;
  int mode = -1;
  try {
    mode = std::stoi(text, &used, 8);
  } catch (const std::exception&) {
    used = 0;
  }
  // Permission bits only: setuid, setgid and sticky mean nothing on a socket file, and a
  // typo such as 4777 must not leave a setuid bit behind.
  if (used != text.size() || mode < 0 || mode > 0777) {
    throw UsageError("bad --unix-mode '" + text +
                     "': expected octal permission bits 0 to 0777, like 0660");
  }
  return mode;
}

// The same address twice would fail to bind as "another server is using port N", which
// sends the administrator looking for a server that does not exist. (Port 0 asks for a new
// port each time, so it may repeat.)
std::vector<Endpoint> listen_endpoints(const po::variables_map& values) {
  std::vector<Endpoint> endpoints;
  for (const std::string& text : values["listen"].as<std::vector<std::string>>()) {
    Endpoint endpoint = parse_endpoint(text);
    for (const Endpoint& earlier : endpoints) {
      bool any_port = !is_unix(endpoint.transport) && endpoint.port == 0;
      if (!any_port && to_string(earlier) == to_string(endpoint))
        throw UsageError("--listen " + to_string(endpoint) + " is given twice");
    }
    endpoints.push_back(endpoint);
  }
  return endpoints;
}

AcceptLock parse_accept_lock(const std::string& text) {
  if (text == "none") return AcceptLock::none;
  if (text == "flock") return AcceptLock::flock;
  if (text == "mutex") return AcceptLock::mutex;
  throw UsageError("bad --accept-lock '" + text + "': use none, flock or mutex");
}

void read_model_options(const po::variables_map& values, ModelOptions& model) {
  auto count = [&](const char* name) { return values[name].as<size_t>(); };
  model.max_children = count("max-children");
  model.max_threads = count("max-threads");
  model.workers = count("workers");
  model.accept_lock = parse_accept_lock(values["accept-lock"].as<std::string>());
  model.pass_fd = values["pass-fd"].as<bool>();
  model.min_spare = count("min-spare");
  model.max_spare = count("max-spare");
  model.max_workers = count("max-workers");
  model.max_requests = count("max-requests");
  model.main_accept = values["main-accept"].as<bool>();
  model.queue_size = count("queue-size");
  model.stats = values["stats"].as<bool>();
  if (model.max_children == 0 || model.max_threads == 0 || model.max_workers == 0 ||
      model.queue_size == 0) {
    throw UsageError(
        "--max-children, --max-threads, --max-workers and --queue-size must be at least 1");
  }
  constexpr size_t kMaxPool = 10'000;  // more processes or threads than that is a typo
  if (model.workers > kMaxPool || model.max_workers > kMaxPool ||
      model.max_children > kMaxPool * 10 || model.max_threads > kMaxPool * 10) {
    throw UsageError(
        "--workers and --max-workers are at most 10000, --max-children and --max-threads 100000");
  }
}

}  // namespace

Millis seconds_option(double seconds, const char* name) {
  if (!(seconds >= 0) || seconds > 1e7) {
    throw UsageError(std::string("bad --") + name + ": expected seconds from 0 to 10000000");
  }
  // chrono::round, not llround: the servers then need nothing from libm, and a process that
  // maps one library fewer starts faster (inetd execs one per connection) and forks faster.
  return std::chrono::round<Millis>(std::chrono::duration<double>(seconds));
}

std::optional<ServerOptions> parse_server_options(const ServiceInfo& info, int argc, char** argv,
                                                  const po::options_description& service_options,
                                                  po::variables_map& values) {
  po::options_description visible;
  visible.add(generic_options())
      .add(shared_server_options())
      .add(activation_options(info))
      .add(tls_options(info));
  if (!service_options.options().empty()) visible.add(service_options);
  parse_all_sources(argc, argv, visible, nullptr, values);

  if (values.count("help") != 0U) {
    print_help(std::cout, info.name, "[OPTIONS]",
               info.summary + "\nDefault address: " + (info.host.empty() ? "[::]" : info.host) +
                   ":" + std::to_string(info.port) +
                   " (tcp). Options may also come from SOCKSERV_* variables or --config.",
               visible);
    return std::nullopt;
  }
  if (values.count("list-models") != 0U) {
    // One model per line, its name first: scripts read the names, people the rest.
    for (const ModelSpec& spec : model_table()) {
      std::cout << spec.name << "\t" << spec.who_accepts << "\t" << spec.who_runs << "\t"
                << spec.counterpart << "\n";
    }
    return std::nullopt;
  }
  if (values.count("version") != 0U) {
    print_version(std::cout, info.name);
    return std::nullopt;
  }

  ServerOptions options;
  options.server.name = info.name;
  options.server.request_log = info.request_log;
  options.server.udp_reply_allowance = info.udp_reply_allowance;
  if (values.count("listen") != 0U) options.listen = listen_endpoints(values);
  options.model = values["model"].as<std::string>();
  read_model_options(values, options.limits);
  SocketOptions& socket = options.server.socket;
  socket.backlog = values["backlog"].as<int>();
  socket.reuse_port = values["reuse-port"].as<bool>();
  socket.sndbuf = values["sndbuf"].as<int>();
  socket.rcvbuf = values["rcvbuf"].as<int>();
  socket.nodelay = values["nodelay"].as<bool>();
  if (socket.backlog < 1 || socket.sndbuf < 0 || socket.rcvbuf < 0) {
    throw UsageError("--backlog must be at least 1, --sndbuf and --rcvbuf 0 or more");
  }
  if (values.count("unix-mode") != 0U)
    socket.unix_mode = parse_mode(values["unix-mode"].as<std::string>());
  options.server.idle_timeout = seconds_option(values["idle-timeout"].as<double>(), "idle-timeout");
  options.server.message_timeout =
      seconds_option(values["message-timeout"].as<double>(), "message-timeout");
  options.server.drain_timeout =
      seconds_option(values["drain-timeout"].as<double>(), "drain-timeout");
  if (values.count("access-log") != 0U) {
    options.server.access_log = values["access-log"].as<std::string>();
    if (options.server.access_log.empty()) throw UsageError("--access-log needs FILE, - or syslog");
  }
  options.log.program = info.name;
  options.log.level = parse_log_level(values["log-level"].as<std::string>());
  options.log.syslog = values["syslog"].as<bool>();
  find_model(options.model);  // rejects an unknown name now, as a usage error
  options.server.access.max_per_source =
      default_max_per_source(options.model, options.limits);  // unless given: see below
  read_activation_options(info, values, options);
  read_tls_options(info, values, options.server.tls);
  return options;
}

}  // namespace sockserv
