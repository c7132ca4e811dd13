// Answering a datagram safely.
#include "handler.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>

#include "datagram_guard.hpp"
#include "error.hpp"
#include "log.hpp"

namespace sockserv {
namespace {
void count_dropped_reply(DroppedReplies& dropped, const std::string& peer, int err) {
  dropped.count.fetch_add(1, std::memory_order_relaxed);
  int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now().time_since_epoch())
                    .count();
  int64_t last = dropped.last_warning_ms.load(std::memory_order_relaxed);
  // Only the one caller that moves the clock forward warns; the others just counted.
  if (now - last < 1000 ||
      !dropped.last_warning_ms.compare_exchange_strong(last, now, std::memory_order_relaxed)) {
    return;
  }
  uint64_t count = dropped.count.exchange(0, std::memory_order_relaxed);
  log_warning("dropped a reply to ", peer, ": its queue is full (", std::strerror(err), "); ",
              count, " replies dropped since the last such warning");
}

}  // namespace

// Made before any fork(): the fork model's children (one per datagram) count into the same
// place as the parent, so the warning stays one a second for the server.
SharedDroppedReplies::SharedDroppedReplies() : counts_("dropped replies") {}

DatagramRequest::DatagramRequest(int socket, std::string data, SocketAddress peer,
                                 size_t reply_allowance, DroppedReplies& dropped)
    : socket_(socket),
      data_(std::move(data)),
      peer_(peer),
      reply_allowance_(reply_allowance),
      dropped_(&dropped) {}

bool DatagramRequest::may_reply() const {
  if (peer_.family() == AF_UNIX) return !host_of(peer_).empty();  // unnamed: nowhere to send
  // Port 0 and the ports of echo-like services never get here: the server's DatagramGuard
  // drops them on arrival. Checked again, since a reply there could start a ping-pong.
  return peer_.port() != 0 && !is_reflector_port(peer_.port());
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
    // MSG_DONTWAIT: the socket is the server's one bound socket, shared by every request.
    // A unixgram peer that never reads fills its queue, and a blocking sendto would then
    // stop the whole server (or, under fork, every child) for good.
    n = ::sendto(socket_, payload.data(), payload.size(), MSG_NOSIGNAL | MSG_DONTWAIT, peer_.get(),
                 peer_.length);
  } while (n < 0 && errno == EINTR);
  // A full queue drops the reply, as the network itself could: a datagram service promises
  // nothing. ENOBUFS is the same for udp when the interface queue is full.
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
    count_dropped_reply(*dropped_, peer_name(), errno);
    return;
  }
  if (n < 0) throw_errno("sendto " + peer_name());
  bytes_out_ += static_cast<uint64_t>(n);
}

}  // namespace sockserv
