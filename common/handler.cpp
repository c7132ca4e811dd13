// Answering a datagram safely.
#include "handler.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>

#include "error.hpp"
#include "log.hpp"

namespace sockserv {
namespace {
// echo, daytime, qotd, chargen, time: services that answer anything. Replying to them could
// start an endless exchange between two servers (the classic UDP "ping-pong" attack).
constexpr std::array<uint16_t, 5> kEchoLikePorts{7, 13, 17, 19, 37};
}  // namespace

DatagramRequest::DatagramRequest(int socket, std::string data, SocketAddress peer,
                                 size_t reply_allowance)
    : socket_(socket), data_(std::move(data)), peer_(peer), reply_allowance_(reply_allowance) {}

bool DatagramRequest::may_reply() const {
  if (peer_.family() == AF_UNIX) return !host_of(peer_).empty();  // unnamed: nowhere to send
  uint16_t port = peer_.port();
  if (port == 0) return false;
  return std::find(kEchoLikePorts.begin(), kEchoLikePorts.end(), port) == kEchoLikePorts.end();
}

void DatagramRequest::reply(std::string_view payload) {
  if (!may_reply()) {
    log_debug("not replying to ", peer_name(), ": source port may not be answered");
    return;
  }
  // A reply larger than its request would let a forged source address turn us into an
  // amplifier; only a service's fixed allowance (chargen's 512 bytes) may exceed it.
  size_t limit = std::max(data_.size(), reply_allowance_);
  if (payload.size() > limit) {
    log_warning("not replying to ", peer_name(), ": ", payload.size(), "-byte reply to a ",
                data_.size(), "-byte request");
    return;
  }
  ssize_t n;
  do {
    n = ::sendto(socket_, payload.data(), payload.size(), MSG_NOSIGNAL, peer_.get(), peer_.length);
  } while (n < 0 && errno == EINTR);
  // A full socket buffer drops the reply, as the network itself could: UDP promises nothing.
  if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) throw_errno("sendto " + peer_name());
}

}  // namespace sockserv
