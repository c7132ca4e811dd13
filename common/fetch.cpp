// Reading a one-shot service's answer.
#include "fetch.hpp"

#include "datagram_client.hpp"
#include "error.hpp"
#include "socket.hpp"

namespace sockserv {

std::string fetch_reply(const Endpoint& server, Millis timeout, size_t max_bytes) {
  if (!is_stream(server.transport)) {
    DatagramClient client(server);
    std::optional<std::string> reply = client.exchange("", timeout);
    if (!reply) throw TimeoutError("no reply from " + to_string(server));
    return *reply;
  }
  UniqueFd fd = connect_to(server);
  set_nonblocking(fd.get(), true);
  Deadline deadline = Deadline::after_or_never(timeout);  // 0: no limit
  std::string reply(max_bytes + 1, '\0');
  // One byte more than allowed, to tell "exactly the limit" from "too long".
  size_t n = read_full(fd.get(), std::as_writable_bytes(std::span(reply)), deadline, client_io());
  if (n > max_bytes) throw ProtocolError("reply from " + to_string(server) + " is too long");
  reply.resize(n);
  return reply;
}

}  // namespace sockserv
