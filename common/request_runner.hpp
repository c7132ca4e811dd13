// RequestRunner: runs one request's handler (Python's finish_request), closes the connection
// politely, logs what ended it, and writes its access log line. Every model, in every
// process and thread, calls this: so every model writes the same lines.
#pragma once

#include <exception>
#include <functional>
#include <string>

#include "access_log.hpp"
#include "connection.hpp"
#include "handler.hpp"
#include "request.hpp"

namespace sockserv {

class TlsServer;

/// Runs one connection: constructs the service's handler and calls setup/handle/finish.
using StreamService = std::function<void(Connection&)>;
/// Runs one datagram the same way.
using DatagramService = std::function<void(DatagramRequest&)>;

class RequestRunner {
 public:
  /// `access_log` gets one line per request run here (it may be off). With `request_log` the
  /// stream service writes its own lines (one per HTTP request) and gets the log through its
  /// Connection; connections then write none here, refused ones included. With `tls`, every
  /// stream connection does its TLS handshake before the handler runs.
  RequestRunner(StreamService stream, DatagramService datagram, ConnectionTimeouts timeouts,
                size_t udp_reply_allowance, AccessLog& access_log, bool request_log = false,
                TlsServer* tls = nullptr);

  /// Runs `request` with `io`; logs every error of it and returns false when it failed.
  bool run(Request& request, IoContext& io, Hub* hub) const;
  /// Writes the access log line of a request that is not served: end=refused, reason=`why`.
  void log_refused(const Request& request, std::string_view why) const;
  /// The line a parent keeps before fork() for the child that will serve `request`, or
  /// nullopt when connections write no line (log off, or the service logs per request).
  std::optional<AccessRecord> parent_record(const Request& request) const;
  /// Writes the line of a request whose child died by `signo` without writing its own:
  /// end=drain when the server killed it at the end of the drain time, else end=killed.
  void log_killed(AccessRecord record, pid_t child, int signo, bool by_drain) const;
  /// Logs the error that ended a request, with the peer, at the level it deserves.
  static void log_error_of(const std::string& peer, std::exception_ptr error);
  /// How an error ended a request, for the access log; `reason` gets the detail.
  static EndReason end_reason_of(std::exception_ptr error, std::string& reason);

 private:
  AccessRecord begin_record(const Request& request) const;
  void run_stream(Request& request, IoContext& io, Hub* hub, AccessRecord& record) const;
  void run_datagram(Request& request, AccessRecord& record) const;
  void start_tls(Connection& connection) const;

  StreamService stream_;
  DatagramService datagram_;
  ConnectionTimeouts timeouts_;
  size_t udp_reply_allowance_;
  SharedDroppedReplies dropped_replies_;  // made before any fork: children share the counts
  AccessLog& access_log_;
  bool request_log_;
  TlsServer* tls_;  // null: connections in clear
};

}  // namespace sockserv
