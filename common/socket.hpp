// Sockets: opening listeners (with the options a server wants) and connecting clients.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "address.hpp"
#include "fd.hpp"
#include "io.hpp"

namespace sockserv {

/// Options that shape a listening socket and the connections accepted from it.
struct SocketOptions {
  int backlog = SOMAXCONN;  // length of the queue of connections not yet accepted
  bool reuse_port = false;  // SO_REUSEPORT: let several processes bind the same port
  int sndbuf = 0;           // SO_SNDBUF in bytes (0: the kernel's default)
  int rcvbuf = 0;           // SO_RCVBUF in bytes (0: the kernel's default)
  bool nodelay = false;     // TCP_NODELAY: send small writes at once (no Nagle delay)
  int unix_mode = -1;       // permissions of a unix socket file (-1: leave the umask's)
  bool dual_stack = true;   // an IPv6 wildcard listener also takes IPv4 (IPV6_V6ONLY=0)
};

/// A bound socket owned by the server: listening (tcp, unix) or bound (udp, unixgram).
/// A unix socket's file is removed when the process that created it drops the listener.
class Listener {
 public:
  Listener(Transport transport, UniqueFd fd, std::string unlink_path = {});
  ~Listener();
  Listener(Listener&&) noexcept = default;
  Listener& operator=(Listener&&) noexcept = default;

  Transport transport() const { return transport_; }
  int fd() const { return fd_.get(); }
  /// The address actually bound: the real port when port 0 was asked for.
  const SocketAddress& local() const { return local_; }
  /// Closes the socket (a forked child does this: the parent keeps listening) without
  /// removing the unix socket file, which still belongs to the parent.
  void close_in_child() {
    fd_.reset();
    unlink_path_.clear();
  }
  /// TCP: sets SO_RCVTIMEO and SO_SNDTIMEO on the listening socket. Linux copies a listening
  /// socket's options into each connection accepted from it, so a blocking model finds its
  /// idle timeout already on every new connection: two setsockopt(2) calls fewer for each.
  /// (They do not slow accept4: the listener is non-blocking.) A unix stream socket makes
  /// each connection afresh and copies nothing: there this does nothing.
  void give_timeouts_to_connections(Millis timeout);
  /// What give_timeouts_to_connections set; nullopt when accepted sockets start without.
  std::optional<Millis> connection_timeouts() const { return connection_timeouts_; }
  /// 0: every worker accepts from this socket. k (from 1): only worker k does; it is that
  /// worker's own socket on a port the workers share (open_listener_per_worker).
  size_t worker() const { return worker_; }
  bool accepts_for(size_t worker) const { return worker_ == 0 || worker_ == worker; }
  void reserve_for_worker(size_t worker) { worker_ = worker; }

 private:
  Transport transport_;
  UniqueFd fd_;
  SocketAddress local_;
  std::string unlink_path_;
  pid_t owner_;  // only this process removes the socket file
  std::optional<Millis> connection_timeouts_;
  size_t worker_ = 0;
};

/// Creates, binds and (for streams) listens on `endpoint`. Throws FatalError with a
/// message fit for the user (port in use, no permission for a well-known port...).
Listener open_listener(const Endpoint& endpoint, const SocketOptions& options);

/// open_listener for a model whose workers each want a listening socket of their own (epoll:
/// one per event loop). For TCP and `workers` > 1: that many sockets on the same port,
/// sharing it by SO_REUSEPORT, the k-th reserved for worker k. The kernel then hands each new
/// client to one of them (by a hash of its address and port), so no two workers ever wake
/// for the same client. Other transports, or one worker: open_listener's single socket.
std::vector<Listener> open_listener_per_worker(const Endpoint& endpoint,
                                               const SocketOptions& options, size_t workers);

/// Wraps an already bound or listening socket (from systemd or inetd).
Listener adopt_listener(UniqueFd fd);

/// Connects to `endpoint`, trying each address it resolves to. The socket is blocking.
UniqueFd connect_to(const Endpoint& endpoint);

/// Applies the per-connection options (TCP_NODELAY) to an accepted tcp socket.
void apply_connection_options(int fd, const SocketOptions& options);

SocketAddress local_address(int fd);
SocketAddress peer_address(int fd);
/// The SO_TYPE of a socket (SOCK_STREAM, SOCK_DGRAM), or -1 when `fd` is not a socket.
int socket_type_of(int fd);

/// Sets an integer socket option, throwing with the option's name on failure.
void set_int_option(int fd, int level, int option, int value, const char* name);

}  // namespace sockserv
