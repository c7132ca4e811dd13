// Sending one datagram and waiting for its answer.
#include "datagram_client.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "error.hpp"
#include "socket.hpp"

namespace sockserv {

DatagramClient::DatagramClient(const Endpoint& server) {
  if (server.transport == Transport::unix_dgram) {
    own_path_ = "/tmp/sockserv-client-" + std::to_string(::getpid()) + ".sock";
    socket_ = UniqueFd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!socket_) throw_errno("socket");
    ::unlink(own_path_.c_str());
    SocketAddress address = unix_address(own_path_);
    if (::bind(socket_.get(), address.get(), address.length) < 0) throw_errno("bind " + own_path_);
    address = unix_address(server.path);
    if (::connect(socket_.get(), address.get(), address.length) < 0)
      throw_errno("connect " + to_string(server));
  } else {
    // connect() on a udp socket fixes the peer: replies from anyone else are discarded by
    // the kernel, and an ICMP "port unreachable" shows up as ECONNREFUSED on the next recv.
    socket_ = connect_to(server);
  }
  set_nonblocking(socket_.get(), true);
}

DatagramClient::~DatagramClient() {
  if (!own_path_.empty()) ::unlink(own_path_.c_str());
}

std::optional<std::string> DatagramClient::exchange(const std::string& payload, Millis timeout,
                                                    int tries) {
  std::string reply(65536, '\0');
  for (int attempt = 0; attempt < tries; ++attempt) {
    Deadline deadline = Deadline::after_or_never(timeout);
    if (!send_by(payload, deadline)) continue;
    pollfd entry{socket_.get(), POLLIN, 0};
    if (!client_io().wait(std::span(&entry, 1), deadline)) continue;
    ssize_t n;
    do {
      n = ::recv(socket_.get(), reply.data(), reply.size(), 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) throw_errno("recv");
    reply.resize(static_cast<size_t>(n));
    return reply;
  }
  return std::nullopt;
}

bool DatagramClient::send_by(const std::string& payload, Deadline deadline) {
  for (;;) {
    if (::send(socket_.get(), payload.data(), payload.size(), 0) >= 0) return true;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) throw_errno("send");
    // A unix datagram server's queue is full (it is busy, or flooded): this non-blocking
    // socket says EAGAIN where a blocking one would wait. Wait for room, as that would.
    pollfd entry{socket_.get(), POLLOUT, 0};
    if (!client_io().wait(std::span(&entry, 1), deadline)) return false;
  }
}

}  // namespace sockserv
