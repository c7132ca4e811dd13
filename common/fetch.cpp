// Reading a one-shot service's answer.
#include "fetch.hpp"

#include "client_stream.hpp"
#include "datagram_client.hpp"
#include "error.hpp"
#include "socket.hpp"

namespace sockserv {

std::string fetch_reply(const Endpoint& server, Millis timeout, size_t max_bytes,
                        const TlsClientContext* tls) {
  if (!is_stream(server.transport)) {
    DatagramClient client(server);
    std::optional<std::string> reply = client.exchange("", timeout);
    if (!reply) throw TimeoutError("no reply from " + to_string(server));
    return *reply;
  }
  // The whole exchange, handshake included, within one timeout (0: no limit).
  Deadline deadline = Deadline::after_or_never(timeout);
  ClientStream stream = open_client_stream(server, timeout, tls);
  std::string reply(max_bytes + 1, '\0');
  // One byte more than allowed, to tell "exactly the limit" from "too long".
  size_t n = stream.read_full(std::as_writable_bytes(std::span(reply)), deadline);
  if (n > max_bytes) throw ProtocolError("reply from " + to_string(server) + " is too long");
  if (!stream.closed_cleanly())
    throw ProtocolError("the TLS connection to " + to_string(server) +
                        " ended without close_notify: the reply may be cut short");
  reply.resize(n);
  return reply;
}

}  // namespace sockserv
