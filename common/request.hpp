// Request: one unit of work handed from the server to its concurrency model, and the
// interface through which a model gets it served. Python's socketserver calls these
// process_request (the model decides who runs it) and finish_request (run the handler).
#pragma once

#include <cstdint>
#include <string>

#include "address.hpp"
#include "fd.hpp"
#include "io.hpp"

namespace sockserv {

/// An accepted connection, or one received datagram with a socket to answer on.
struct Request {
  UniqueFd socket;        // the connection, or a duplicate of the datagram socket
  SocketAddress peer;
  bool is_datagram = false;
  std::string datagram;   // the datagram's bytes (datagram requests only)
  uint64_t id = 0;        // numbers the request for request_done()
};

/// What a model needs from the server.
class RequestRunner {
 public:
  virtual ~RequestRunner() = default;
  /// Runs the handler for `request`, waiting with `waiter`; logs and swallows every error of
  /// that one request. Returns false when the request failed.
  virtual bool finish_request(Request& request, Waiter& waiter) = 0;
  /// In a child right after fork(): drop what belongs to the parent (listening sockets,
  /// the wakeup pipe) and set the child's signal handling.
  virtual void prepare_child() = 0;
  /// A descriptor that becomes readable when the server stops and the drain time is over:
  /// connections still running must end then. Shared with forked children.
  virtual int cut_fd() const = 0;
  /// In the iterative model the handler runs in the main loop's own thread, so its waits
  /// must also hear signals: the wakeup descriptor and what to do when it is readable.
  virtual int wakeup_fd() const = 0;
  virtual void process_wakeups() = 0;
  /// In the server's main thread, once the request numbered `id` is over (its child reaped,
  /// its thread joined, or served in place): per-source limits count requests in flight.
  virtual void request_done(uint64_t id) = 0;
};

}  // namespace sockserv
