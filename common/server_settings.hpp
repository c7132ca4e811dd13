// ServerSettings: what the shared options decide about a server, apart from its model.
#pragma once

#include <string>

#include "access.hpp"
#include "datagram_guard.hpp"
#include "io.hpp"
#include "proxy_protocol.hpp"
#include "socket.hpp"
#include "tls_settings.hpp"

namespace sockserv {

struct ServerSettings {
  std::string name = "sockserv";
  SocketOptions socket;
  Millis idle_timeout{300'000};     // per wait for a client; 0 disables
  Millis message_timeout{30'000};   // one whole message from its first byte; 0 disables
  Millis drain_timeout{10'000};     // how long stopping waits for connections in flight
  size_t udp_reply_allowance = 0;   // a datagram reply may be this large whatever the request
  AccessSettings access;            // --allow-from, --deny-from, --max-per-source, --max-rate
  DatagramGuardSettings udp_guard;  // --udp-rate
  std::string access_log;           // --access-log: "" (off), "-", "syslog" or a file
  bool request_log = false;         // the service writes a line per request (ServiceInfo)
  ProxySettings proxy;              // --proxy-protocol, --trusted-proxy
  TlsServerSettings tls;            // --tls-cert, --tls-key, --tls-client-ca...: TLS when set
};

}  // namespace sockserv
