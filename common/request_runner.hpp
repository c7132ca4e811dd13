// RequestRunner: runs one request's handler (Python's finish_request), closes the connection
// politely, and logs what ended it. Every model, in every process and thread, calls this.
#pragma once

#include <exception>
#include <functional>
#include <string>

#include "connection.hpp"
#include "handler.hpp"
#include "request.hpp"

namespace sockserv {

/// Runs one connection: constructs the service's handler and calls setup/handle/finish.
using StreamService = std::function<void(Connection&)>;
/// Runs one datagram the same way.
using DatagramService = std::function<void(DatagramRequest&)>;

class RequestRunner {
 public:
  RequestRunner(StreamService stream, DatagramService datagram, ConnectionTimeouts timeouts,
                size_t udp_reply_allowance);

  /// Runs `request` with `io`; logs every error of it and returns false when it failed.
  bool run(Request& request, IoContext& io, Hub* hub) const;
  /// Logs the error that ended a request, with the peer, at the level it deserves.
  static void log_error_of(const std::string& peer, std::exception_ptr error);

 private:
  void run_stream(Request& request, IoContext& io, Hub* hub) const;
  void run_datagram(Request& request) const;

  StreamService stream_;
  DatagramService datagram_;
  ConnectionTimeouts timeouts_;
  size_t udp_reply_allowance_;
  SharedDroppedReplies dropped_replies_;  // made before any fork: children share the counts
};

}  // namespace sockserv
