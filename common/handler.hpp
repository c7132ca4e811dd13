// Handlers: the service code. One handler object serves one connection (or one datagram),
// as in Python's socketserver: setup(), handle(), finish().
#pragma once

#include <string>
#include <string_view>

#include "address.hpp"
#include "connection.hpp"

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

/// One datagram received, and the way to answer it.
class DatagramRequest {
 public:
  DatagramRequest(int socket, std::string data, SocketAddress peer, size_t reply_allowance);

  std::string_view data() const { return data_; }
  const SocketAddress& peer() const { return peer_; }
  std::string peer_name() const { return to_string(peer_); }
  /// Sends one reply datagram to the sender. Refused (logged, nothing sent) when the sender
  /// cannot or must not be answered (see may_reply) or the reply is larger than allowed.
  void reply(std::string_view payload);
  /// Whether the sender may be answered: not port 0, not the well-known port of another
  /// echo-like service (so two servers cannot be made to bounce datagrams forever), and not
  /// an unnamed unix datagram socket.
  bool may_reply() const;

 private:
  int socket_;  // the server's bound socket, used only for sendto
  std::string data_;
  SocketAddress peer_;
  size_t reply_allowance_;
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
