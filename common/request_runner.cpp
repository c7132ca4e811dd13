// One request, from handler to close.
#include "request_runner.hpp"

#include "error.hpp"
#include "log.hpp"

namespace sockserv {

RequestRunner::RequestRunner(StreamService stream, DatagramService datagram,
                             ConnectionTimeouts timeouts, size_t udp_reply_allowance)
    : stream_(std::move(stream)),
      datagram_(std::move(datagram)),
      timeouts_(timeouts),
      udp_reply_allowance_(udp_reply_allowance) {}

bool RequestRunner::run(Request& request, IoContext& io, Hub* hub) const {
  try {
    if (request.is_datagram) {
      run_datagram(request);
    } else {
      run_stream(request, io, hub);
    }
    return true;
  } catch (...) {
    log_error_of(to_string(request.peer), std::current_exception());
    return false;
  }
}

void RequestRunner::run_stream(Request& request, IoContext& io, Hub* hub) const {
  Connection connection(std::move(request.socket), request.peer, io, timeouts_);
  connection.set_hub(hub);
  try {
    stream_(connection);
  } catch (...) {
    // Even after an error (a bad frame), close politely: closing with the client's unread
    // bytes still queued would send RST instead of FIN.
    connection.close_gracefully();
    throw;
  }
  // The handler is done: finish sending, then half-close, so a client that half-closed
  // its side still receives the whole reply before EOF.
  connection.close_gracefully();
}

void RequestRunner::run_datagram(Request& request) const {
  DatagramRequest datagram(request.socket.get(), std::move(request.datagram), request.peer,
                           udp_reply_allowance_, dropped_replies_.get());
  datagram_(datagram);
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

}  // namespace sockserv
