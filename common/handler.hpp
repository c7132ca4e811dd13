// Handlers: the service code. One handler object serves one connection (or one datagram),
// as in Python's socketserver: setup(), handle(), finish().
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "address.hpp"
#include "connection.hpp"
#include "shared_memory.hpp"

namespace sockserv {

/// Base of every stream service. The server constructs one per connection, calls setup(),
/// handle() and finish() (finish runs even when handle throws), then closes the connection.
class StreamHandler {
 public:
  explicit StreamHandler(Connection& connection) : connection_(connection) {}
  virtual ~StreamHandler() = default;
  StreamHandler(const StreamHandler&) = delete;
  StreamHandler& operator=(const StreamHandler&) = delete;

  virtual void setup() {}
  virtual void handle() = 0;
  virtual void finish() {}

 protected:
  Connection& connection_;
};

/// Replies dropped because the peer's receive queue was full. One peer that never reads can
/// cause thousands a second, so they are counted and reported in one warning a second at most.
struct DroppedReplies {
  std::atomic<uint64_t> count{0};           // dropped since the last warning
  std::atomic<int64_t> last_warning_ms{0};  // CLOCK_MONOTONIC milliseconds
};
static_assert(std::atomic<uint64_t>::is_always_lock_free &&
              std::atomic<int64_t>::is_always_lock_free);  // they live in shared memory

/// DroppedReplies in memory shared with the children forked after it (the server owns one).
class SharedDroppedReplies {
 public:
  SharedDroppedReplies();
  SharedDroppedReplies(const SharedDroppedReplies&) = delete;
  SharedDroppedReplies& operator=(const SharedDroppedReplies&) = delete;
  DroppedReplies& get() const { return *counts_; }

 private:
  SharedMemory<DroppedReplies> counts_;
};

/// One datagram received, and the way to answer it.
class DatagramRequest {
 public:
  /// `dropped` counts the replies a full queue refused (see reply()).
  DatagramRequest(int socket, std::string data, SocketAddress peer, size_t reply_allowance,
                  DroppedReplies& dropped);

  std::string_view data() const { return data_; }
  const SocketAddress& peer() const { return peer_; }
  std::string peer_name() const { return to_string(peer_); }
  /// Sends one reply datagram to the sender. Refused (logged, nothing sent) when the sender
  /// cannot or must not be answered (see may_reply) or the reply is larger than allowed.
  void reply(std::string_view payload);
  /// Whether the sender may be answered: not port 0, not the well-known port of another
  /// echo-like service (is_reflector_port: so two servers cannot be made to bounce datagrams
  /// forever), and not an unnamed unix datagram socket.
  bool may_reply() const;
  /// Bytes of the replies sent (the access log's out=).
  uint64_t bytes_out() const { return bytes_out_; }

 private:
  int socket_;  // the server's bound socket, used only for sendto
  std::string data_;
  SocketAddress peer_;
  size_t reply_allowance_;
  DroppedReplies* dropped_;
  uint64_t bytes_out_ = 0;
};

/// Base of every datagram service; one object per datagram.
class DatagramHandler {
 public:
  explicit DatagramHandler(DatagramRequest& request) : request_(request) {}
  virtual ~DatagramHandler() = default;
  DatagramHandler(const DatagramHandler&) = delete;
  DatagramHandler& operator=(const DatagramHandler&) = delete;

  virtual void setup() {}
  virtual void handle() = 0;
  virtual void finish() {}

 protected:
  DatagramRequest& request_;
};

}  // namespace sockserv
