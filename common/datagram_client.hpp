// DatagramClient: one request datagram, one reply, for the udp and unixgram clients.
#pragma once

#include <optional>
#include <string>

#include "address.hpp"
#include "fd.hpp"
#include "io.hpp"

namespace sockserv {

class DatagramClient {
 public:
  /// Opens a socket connected to `server` (udp or unixgram). A unixgram client binds a
  /// temporary path of its own, since an unnamed socket cannot be answered; it is removed
  /// again by the destructor.
  explicit DatagramClient(const Endpoint& server);
  ~DatagramClient();
  DatagramClient(const DatagramClient&) = delete;
  DatagramClient& operator=(const DatagramClient&) = delete;

  /// Sends `payload` and waits up to `timeout` (0: no limit) for the reply, resending up to
  /// `tries` times (datagrams may be lost). nullopt when no reply came.
  std::optional<std::string> exchange(const std::string& payload, Millis timeout, int tries = 3);

 private:
  /// Sends `payload`, waiting while the server's queue is full; false when `deadline` came
  /// first.
  bool send_by(const std::string& payload, Deadline deadline);

  UniqueFd socket_;
  std::string own_path_;
};

}  // namespace sockserv
