// Opening listening sockets and connecting: the socket(2), bind(2), listen(2) and
// connect(2) steps of every server and client, with the reason for each option.
#include "socket.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "error.hpp"
#include "timed_connect.hpp"

namespace sockserv {
namespace {

bool is_ipv6_wildcard(const SocketAddress& address) {
  if (address.family() != AF_INET6) return false;
  const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&address.storage);
  return IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr);
}

// Whether a TCP server listens on `address`'s port (asked on loopback when `address` is the
// wildcard). Our listeners set SO_REUSEADDR, so their EADDRINUSE has two causes, which this
// probe tells apart: a server that listens accepts it; connections in TIME_WAIT, left by a
// server that did not set SO_REUSEADDR, refuse it. (Missed: a server listening on one address
// only while we bind the wildcard; the probe asks loopback and is refused.)
bool tcp_listener_answers(const SocketAddress& address) {
  SocketAddress probe = address;
  if (address.family() == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&probe.storage);
    if (in->sin_addr.s_addr == htonl(INADDR_ANY)) in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  } else if (is_ipv6_wildcard(address)) {
    reinterpret_cast<sockaddr_in6*>(&probe.storage)->sin6_addr = in6addr_loopback;
  }
  try {
    connect_within({probe}, to_string(probe), Millis(1000));  // closed at once
    return true;
  } catch (const TimeoutError&) {
    return true;  // a server whose backlog is full does not answer SYNs, but it is there
  } catch (const std::system_error&) {
    return false;  // refused
  }
}

UniqueFd new_socket(int family, int type) {
  // SOCK_CLOEXEC: a program we exec (cmd-server's commands) must not inherit the socket.
  UniqueFd fd(::socket(family, type | SOCK_CLOEXEC, 0));
  if (!fd) throw_errno("socket");
  return fd;
}

void set_listener_options(int fd, const SocketAddress& address, Transport transport,
                          const SocketOptions& options) {
  if (transport == Transport::tcp) {
    // SO_REUSEADDR lets a restarted server bind its port while old connections of the
    // previous run still sit in TIME_WAIT (the "Address already in use" of the tutorials).
    // TCP only: UDP has no TIME_WAIT, and there the option means something else, that
    // several sockets may bind the same port, so a second server would start silently.
    set_int_option(fd, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR");
  }
  if (!is_unix(transport)) {
    // SO_REUSEPORT lets several sockets share the port; only on request (or, for the epoll
    // model's loops, open_listener_per_worker), so that by default a second server on the
    // same port fails loudly instead.
    if (options.reuse_port) set_int_option(fd, SOL_SOCKET, SO_REUSEPORT, 1, "SO_REUSEPORT");
  }
  if (address.family() == AF_INET6) {
    // Set IPV6_V6ONLY explicitly rather than trusting the system default
    // (/proc/sys/net/ipv6/bindv6only): the wildcard listener takes IPv4 clients too.
    bool v6only = !(options.dual_stack && is_ipv6_wildcard(address));
    set_int_option(fd, IPPROTO_IPV6, IPV6_V6ONLY, v6only ? 1 : 0, "IPV6_V6ONLY");
  }
  // Buffer sizes are set before listen(): accepted sockets inherit them, and TCP chooses its
  // window scale from the receive buffer during the handshake.
  if (options.sndbuf > 0) set_int_option(fd, SOL_SOCKET, SO_SNDBUF, options.sndbuf, "SO_SNDBUF");
  if (options.rcvbuf > 0) set_int_option(fd, SOL_SOCKET, SO_RCVBUF, options.rcvbuf, "SO_RCVBUF");
}

[[noreturn]] void throw_bind_error(int err, const Endpoint& endpoint,
                                   const SocketAddress& address) {
  std::string where = is_unix(endpoint.transport) ? to_string(endpoint) : to_string(address);
  std::string message = "bind " + where + ": " + std::strerror(err);
  if (err == EACCES && !is_unix(endpoint.transport) && endpoint.port < 1024) {
    throw FatalError(EX_NOPERM, message +
                                    " (ports below 1024 need root or CAP_NET_BIND_SERVICE;"
                                    " use --listen with a higher port, e.g. --listen [::]:" +
                                    std::to_string(endpoint.port + 7000) + ")");
  }
  if (is_unix(endpoint.transport) && err != EADDRINUSE) {
    // The socket file could not be made (missing directory, no write permission, read-only
    // file system): sysexits' EX_CANTCREAT, "a (user specified) output file cannot be
    // created", not 69, which says that another server holds the address.
    std::string directory = std::filesystem::path(endpoint.path).parent_path().string();
    if (directory.empty()) directory = ".";
    if (err == ENOENT || err == ENOTDIR)
      message += " (does the directory " + directory + " exist?)";
    if (err == EACCES || err == EPERM || err == EROFS)
      message += " (may this user create files in " + directory + "?)";
    throw FatalError(EX_CANTCREAT, message);
  }
  if (is_unix(endpoint.transport)) {
    // EADDRINUSE after bind_unix replaced a stale file: another server bound it in between.
    throw FatalError(EX_UNAVAILABLE, message + " (another server bound this path just now)");
  }
  std::string port = std::to_string(endpoint.port);
  if (err == EADDRINUSE && endpoint.port == 0) {
    // Port 0 asks the kernel to pick a free port of its local port range; none was free.
    throw FatalError(EX_UNAVAILABLE,
                     message + " (port 0: no port of net.ipv4.ip_local_port_range is free; " +
                         "connections in TIME_WAIT hold ports too: ss -tan state time-wait)");
  }
  if (err == EADDRINUSE && endpoint.transport == Transport::tcp && !tcp_listener_answers(address)) {
    throw FatalError(
        EX_UNAVAILABLE,
        message + " (no server listens on port " + port +
            ", but connections of one that did not set SO_REUSEADDR wait in" +
            " TIME_WAIT, for up to a minute: ss -tan state time-wait sport = :" + port + ")");
  }
  if (err == EADDRINUSE) {
    throw FatalError(EX_UNAVAILABLE, message + " (another server is using port " + port +
                                         "; pick another with --listen)");
  }
  throw FatalError(EX_UNAVAILABLE, message);
}

// 0 when something answers on the unix socket at `address` (then it is not stale), else
// connect's errno: ECONNREFUSED or ENOENT when nobody does (a file left by a server that died).
int probe_unix_socket(const SocketAddress& address, int type) {
  UniqueFd probe = new_socket(AF_UNIX, type);
  int rc;
  do {
    rc = ::connect(probe.get(), address.get(), address.length);
  } while (rc < 0 && errno == EINTR);
  // EAGAIN: a stream server is there, with its backlog full.
  return rc == 0 || errno == EAGAIN ? 0 : errno;
}

// Binds a unix socket, replacing a stale socket file left by a crashed server, but never the
// path of a server that still answers.
void bind_unix(int fd, const Endpoint& endpoint, const SocketAddress& address) {
  if (::bind(fd, address.get(), address.length) == 0) return;
  if (errno != EADDRINUSE) throw_bind_error(errno, endpoint, address);
  struct stat st {};
  if (::lstat(endpoint.path.c_str(), &st) == 0 && !S_ISSOCK(st.st_mode)) {
    throw FatalError(EX_CANTCREAT,
                     "bind " + to_string(endpoint) + ": a file that is not a socket is there");
  }
  int probe = probe_unix_socket(address, socket_type(endpoint.transport));
  if (probe == 0) {
    throw FatalError(EX_UNAVAILABLE,
                     "bind " + to_string(endpoint) + ": another server answers on it");
  }
  if (probe != ECONNREFUSED && probe != ENOENT) {
    // Most often EACCES: connecting needs write permission on the socket file, and one left
    // by a server that ran with --unix-mode 0500 has none. Whether a server still answers
    // cannot be told then, so the file is not replaced.
    throw FatalError(probe == EACCES || probe == EPERM ? EX_NOPERM : EX_UNAVAILABLE,
                     "bind " + to_string(endpoint) + ": a socket file is there, and connecting " +
                         "to it to see whether a server answers failed: " + std::strerror(probe) +
                         " (remove it if no server runs)");
  }
  // Nobody answers: the file is left over from a server that died. Replace it.
  if (::unlink(endpoint.path.c_str()) < 0 && errno != ENOENT)
    throw_errno("unlink " + endpoint.path);
  if (::bind(fd, address.get(), address.length) < 0) throw_bind_error(errno, endpoint, address);
}

enum class PortSharing { as_options_say, after_bind };

// socket, bind and (TCP) listen for an IP endpoint at `address`. PortSharing::after_bind sets
// SO_REUSEPORT between bind and listen: bind has already checked that nobody holds the port,
// and listen is when Linux puts the socket into the group of sockets sharing it, which the
// sockets bound next (with SO_REUSEPORT) join.
Listener open_inet_listener(const Endpoint& endpoint, const SocketAddress& address,
                            const SocketOptions& options, PortSharing sharing) {
  int type = socket_type(endpoint.transport);
  UniqueFd fd = new_socket(address.family(), type);
  set_listener_options(fd.get(), address, endpoint.transport, options);
  if (::bind(fd.get(), address.get(), address.length) < 0)
    throw_bind_error(errno, endpoint, address);
  if (sharing == PortSharing::after_bind)
    set_int_option(fd.get(), SOL_SOCKET, SO_REUSEPORT, 1, "SO_REUSEPORT");
  // listen() turns the socket into a passive one; the backlog bounds how many finished
  // handshakes may wait for accept().
  if (type == SOCK_STREAM && ::listen(fd.get(), options.backlog) < 0) {
    throw_errno("listen " + to_string(endpoint));
  }
  return Listener(endpoint.transport, std::move(fd));
}

}  // namespace

void set_int_option(int fd, int level, int option, int value, const char* name) {
  if (::setsockopt(fd, level, option, &value, sizeof value) < 0) {
    throw_errno(std::string("setsockopt ") + name);
  }
}

Listener::Listener(Transport transport, UniqueFd fd, std::string unlink_path)
    : transport_(transport),
      fd_(std::move(fd)),
      local_(local_address(fd_.get())),
      unlink_path_(std::move(unlink_path)),
      owner_(::getpid()) {}

void Listener::give_timeouts_to_connections(Millis timeout) {
  if (transport_ != Transport::tcp) return;
  if (!set_socket_timeouts(fd(), timeout)) throw_errno("setsockopt SO_RCVTIMEO/SO_SNDTIMEO");
  connection_timeouts_ = timeout;
}

Listener::~Listener() {
  // Remove our socket file on exit so the next start finds a clean path. A forked child
  // never removes it (the owner check), since the parent still serves on it.
  if (!unlink_path_.empty() && fd_ && ::getpid() == owner_) ::unlink(unlink_path_.c_str());
}

Listener open_listener(const Endpoint& endpoint, const SocketOptions& options) {
  int type = socket_type(endpoint.transport);
  if (is_unix(endpoint.transport)) {
    SocketAddress address = unix_address(endpoint.path);
    UniqueFd fd = new_socket(AF_UNIX, type);
    set_listener_options(fd.get(), address, endpoint.transport, options);
    bind_unix(fd.get(), endpoint, address);
    std::string path = endpoint.path;
    Listener listener(endpoint.transport, std::move(fd), path);
    // chmod between bind and listen: until listen() nobody can connect, so no client ever
    // meets the socket with the wrong permissions.
    if (options.unix_mode >= 0 &&
        ::chmod(path.c_str(), static_cast<mode_t>(options.unix_mode)) < 0) {
      throw_errno("chmod " + path);
    }
    if (type == SOCK_STREAM && ::listen(listener.fd(), options.backlog) < 0)
      throw_errno("listen " + path);
    return listener;
  }
  return open_inet_listener(endpoint, resolve(endpoint, /*passive=*/true).front(), options,
                            PortSharing::as_options_say);
}

std::vector<Listener> open_listener_per_worker(const Endpoint& endpoint,
                                               const SocketOptions& options, size_t workers) {
  std::vector<Listener> listeners;
  if (endpoint.transport != Transport::tcp || workers < 2) {
    listeners.push_back(open_listener(endpoint, options));
    return listeners;
  }
  // The first socket binds without SO_REUSEPORT, so that a port another server holds (even
  // one that shares it) fails loudly here, as under every other model.
  listeners.push_back(open_inet_listener(endpoint, resolve(endpoint, /*passive=*/true).front(),
                                         options, PortSharing::after_bind));
  // The others bind to the address the first got: its real port, when port 0 was asked for.
  SocketOptions sharing = options;
  sharing.reuse_port = true;
  SocketAddress bound = listeners.front().local();
  for (size_t worker = 2; worker <= workers; ++worker) {
    try {
      listeners.push_back(
          open_inet_listener(endpoint, bound, sharing, PortSharing::as_options_say));
    } catch (const std::system_error& e) {
      if (e.code().value() != EMFILE) throw;
      // "socket: Too many open files" would not say that --workers asked for them.
      throw FatalError(EX_OSERR, "a listening socket per worker on " + to_string(bound) + ": " +
                                     std::to_string(workers) + " workers are more than the " +
                                     "descriptor limit allows (fewer --workers, or raise " +
                                     "ulimit -n / LimitNOFILE=)");
    }
  }
  for (size_t worker = 1; worker <= workers; ++worker)
    listeners[worker - 1].reserve_for_worker(worker);
  return listeners;
}

Listener adopt_listener(UniqueFd fd) {
  SocketAddress local = local_address(fd.get());
  int type = socket_type_of(fd.get());
  Transport transport = local.family() == AF_UNIX
                            ? (type == SOCK_STREAM ? Transport::unix_stream : Transport::unix_dgram)
                            : (type == SOCK_STREAM ? Transport::tcp : Transport::udp);
  return Listener(transport, std::move(fd));
}

UniqueFd connect_to(const Endpoint& endpoint) {
  int type = socket_type(endpoint.transport);
  std::vector<SocketAddress> addresses;
  if (is_unix(endpoint.transport)) {
    addresses.push_back(unix_address(endpoint.path));
  } else {
    addresses = resolve(endpoint, /*passive=*/false);
  }
  int last_error = 0;
  for (const SocketAddress& address : addresses) {
    UniqueFd fd = new_socket(address.family(), type);
    int rc = ::connect(fd.get(), address.get(), address.length);
    if (rc == 0) return fd;
    // connect(2) interrupted by a signal keeps going in the background; a second
    // connect would fail with EALREADY, so wait for the result with poll instead.
    if (errno == EINTR) {
      pollfd entry{fd.get(), POLLOUT, 0};
      client_io().wait(std::span(&entry, 1), Deadline::never());
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
      if (err == 0) return fd;
      errno = err;
    }
    last_error = errno;
  }
  throw_errno(last_error, "connect " + to_string(endpoint));
}

void apply_connection_options(int fd, const SocketOptions& options) {
  if (options.nodelay) set_int_option(fd, IPPROTO_TCP, TCP_NODELAY, 1, "TCP_NODELAY");
}

SocketAddress local_address(int fd) {
  SocketAddress address;
  address.length = sizeof address.storage;
  if (::getsockname(fd, address.get(), &address.length) < 0) throw_errno("getsockname");
  return address;
}

SocketAddress peer_address(int fd) {
  SocketAddress address;
  address.length = sizeof address.storage;
  if (::getpeername(fd, address.get(), &address.length) < 0) throw_errno("getpeername");
  return address;
}

int socket_type_of(int fd) {
  int type = 0;
  socklen_t len = sizeof type;
  if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0) return -1;
  return type;
}

}  // namespace sockserv
