// How the sockets arrive when the server does not bind them itself.
//
//   systemd, Accept=no    LISTEN_FDS listening (or bound datagram) sockets from fd 3 on;
//                         served under the chosen model, like sockets of our own.
//   systemd, Accept=yes   one connected socket on fd 3: served once, then the process exits.
//   inetd "nowait"        one connected socket on fd 0 (--inetd): the same.
//   inetd "wait"          a listening socket on fd 0 (seen through SO_ACCEPTCONN), or a bound
//                         udp socket: served until idle for --exit-idle seconds, then exit;
//                         inetd starts us again on the next client.
//
// Try it:  systemd-socket-activate -l 127.0.0.1:7007 bin/echo-server
//          systemd-socket-activate -l 127.0.0.1:7007 --accept bin/echo-server
//          systemd-socket-activate -l 127.0.0.1:7007 --inetd --accept bin/echo-server --inetd
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "fd.hpp"
#include "socket.hpp"

namespace sockserv {

/// What systemd or inetd handed over.
struct ActivatedSockets {
  std::string source;               // "systemd" or "inetd", for the log
  std::vector<Listener> listeners;  // listening and bound datagram sockets
  std::vector<std::string> names;   // LISTEN_FDNAMES, one per listener ("" when unnamed)
  UniqueFd connection;              // set instead of listeners: one connected stream socket
};

/// The sockets of LISTEN_FDS when LISTEN_PID names this process, or nullopt. Clears the
/// variables so that children and commands we exec do not take them for their own.
std::optional<ActivatedSockets> systemd_sockets();

/// The socket on fd 0 as inetd passes it. Moves it to a close-on-exec descriptor and puts
/// /dev/null on fds 0 and 1 (and on 2 when it is the same socket: inetd passes the
/// connection as stderr too). Throws UsageError when fd 0 is not a socket.
ActivatedSockets inetd_socket();

/// True when stderr is the socket on stdin (openbsd-inetd and xinetd pass the connection as
/// fds 0, 1 and 2): log lines must then go to syslog, not into the client's stream.
bool stderr_is_stdin_socket();

}  // namespace sockserv
