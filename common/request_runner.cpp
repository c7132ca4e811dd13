// One request, from handler to close, and its access log line.
#include "request_runner.hpp"

#include <cstring>

#include "error.hpp"
#include "escape.hpp"
#include "log.hpp"
#include "socket.hpp"
#include "tls_server.hpp"

namespace sockserv {

RequestRunner::RequestRunner(StreamService stream, DatagramService datagram,
                             ConnectionTimeouts timeouts, size_t udp_reply_allowance,
                             AccessLog& access_log, bool request_log, TlsServer* tls)
    : stream_(std::move(stream)),
      datagram_(std::move(datagram)),
      timeouts_(timeouts),
      udp_reply_allowance_(udp_reply_allowance),
      access_log_(access_log),
      request_log_(request_log),
      tls_(tls) {}

AccessRecord RequestRunner::begin_record(const Request& request) const {
  AccessRecord record;
  record.peer = request.peer;
  record.datagram = request.is_datagram;
  record.started = request.started;
  // The address the client reached (which of the host's addresses, which unix socket):
  // getsockname costs a system call, so only when there is a log to write it to.
  if (access_log_.enabled() && request.socket) {
    try {
      record.local = local_address(request.socket.get());
    } catch (const std::system_error&) {
      // The client is already gone: the line says local=-.
    }
  }
  return record;
}

bool RequestRunner::run(Request& request, IoContext& io, Hub* hub) const {
  AccessRecord record = begin_record(request);
  bool ok = true;
  try {
    if (request.is_datagram) {
      run_datagram(request, record);
    } else {
      run_stream(request, io, hub, record);
    }
  } catch (...) {
    log_error_of(to_string(request.peer), std::current_exception());
    record.end = end_reason_of(std::current_exception(), record.reason);
    ok = false;
  }
  if (!request_log_ || request.is_datagram) access_log_.write(record);
  return ok;
}

void RequestRunner::log_refused(const Request& request, std::string_view why) const {
  if (!access_log_.enabled() || request_log_) return;
  AccessRecord record = begin_record(request);
  record.end = EndReason::refused;
  record.reason = why;
  access_log_.write(record);
}

std::optional<AccessRecord> RequestRunner::parent_record(const Request& request) const {
  if (!access_log_.enabled() || request_log_) return std::nullopt;
  return begin_record(request);
}

void RequestRunner::log_killed(AccessRecord record, pid_t child, int signo, bool by_drain) const {
  record.end = by_drain ? EndReason::drain : EndReason::killed;
  // "signal 9 (Killed)": the number an administrator types, and the name strsignal gives.
  record.reason = "signal " + std::to_string(signo) + " (" + ::strsignal(signo) + ")";
  if (by_drain) record.reason = "killed at the end of the drain time: " + record.reason;
  record.served_by = child;
  access_log_.write(record);
}

void RequestRunner::run_stream(Request& request, IoContext& io, Hub* hub,
                               AccessRecord& record) const {
  Connection connection(std::move(request.socket), request.peer, io, timeouts_, request.setup);
  connection.set_hub(hub);
  if (request_log_ && access_log_.enabled()) connection.set_access_log(&access_log_);
  auto count_bytes = [&] {
    record.bytes_in = connection.bytes_in();
    record.bytes_out = connection.bytes_out();
  };
  try {
    if (tls_ != nullptr) start_tls(connection);
    stream_(connection);
  } catch (...) {
    // Even after an error (a bad frame), close politely: closing with the client's unread
    // bytes still queued would send RST instead of FIN.
    connection.close_gracefully();
    count_bytes();
    throw;
  }
  // The handler is done: finish sending, then half-close, so a client that half-closed
  // its side still receives the whole reply before EOF.
  connection.close_gracefully();
  count_bytes();
}

// The handshake, then the one log line that names the client's certificate (the subject
// is the client's text: escaped), then --allow-subject.
void RequestRunner::start_tls(Connection& connection) const {
  connection.accept_tls(*tls_);
  const std::string& subject = connection.peer_subject();
  if (!subject.empty()) {
    log_info(connection.peer_name(), ": TLS client certificate subject=\"", client_text(subject),
             "\" (", connection.tls_description(), ")");
  } else {
    log_debug(connection.peer_name(), ": TLS ", connection.tls_description());
  }
  if (!tls_->subject_allowed(subject))
    throw ProtocolError("TLS client certificate subject not in --allow-subject");
}

void RequestRunner::run_datagram(Request& request, AccessRecord& record) const {
  record.bytes_in = request.datagram.size();
  DatagramRequest datagram(request.socket.get(), std::move(request.datagram), request.peer,
                           udp_reply_allowance_, dropped_replies_.get());
  try {
    datagram_(datagram);
  } catch (...) {
    record.bytes_out = datagram.bytes_out();
    throw;
  }
  record.bytes_out = datagram.bytes_out();
}

void RequestRunner::log_error_of(const std::string& peer, std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const ProtocolError& e) {
    log_warning(peer, ": protocol error: ", e.what(), "; closing the connection");
  } catch (const MessageTimeout& e) {
    // A client that trickles its bytes to hold the connection (slowloris): worth a warning.
    log_warning(peer, ": ", e.what(), "; closing the connection");
  } catch (const TimeoutError& e) {
    log_info(peer, ": ", e.what(), "; closing the connection");
  } catch (const DrainDeadlinePassed& e) {
    log_info(peer, ": ", e.what());
  } catch (const std::system_error& e) {
    if (is_peer_gone(e)) {
      log_info(peer, ": client went away (", e.code().message(), ")");
    } else {
      log_error(peer, ": ", e.what());
    }
  } catch (const std::exception& e) {
    log_error(peer, ": ", e.what());
  }
}

EndReason RequestRunner::end_reason_of(std::exception_ptr error, std::string& reason) {
  // One catch per reason: a new kind of ending (a per-message deadline's own error type) is
  // one more line here, above its base class.
  try {
    std::rethrow_exception(error);
  } catch (const MessageTimeout&) {
    return EndReason::message_timeout;
  } catch (const TimeoutError&) {
    return EndReason::idle_timeout;
  } catch (const DrainDeadlinePassed&) {
    return EndReason::drain;
  } catch (const ProtocolError& e) {
    reason = std::string("protocol error: ") + e.what();
  } catch (const std::system_error& e) {
    if (is_peer_gone(e)) {
      reason = e.code().message();  // "Connection reset by peer", "Broken pipe"
      return EndReason::reset;
    }
    reason = e.what();
  } catch (const std::exception& e) {
    reason = e.what();
  } catch (...) {
    reason = "unknown error";
  }
  return EndReason::error;
}

}  // namespace sockserv
