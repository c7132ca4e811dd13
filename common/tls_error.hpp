// OpenSSL's errors as sockserv's: the thread's error queue turned into one message.
//
// OpenSSL does not return an error message: it pushes one or more codes onto a queue that
// belongs to the calling thread. Whoever calls into libssl or libcrypto must empty that
// queue, or the next, unrelated call on the thread reports the old error as its own.
#pragma once

#include <stdexcept>
#include <string>

#include "error.hpp"

namespace sockserv {

/// A TLS failure (a certificate that does not load, a handshake the peer broke).
struct TlsError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// The peer broke the TLS protocol or failed its checks (no certificate, an untrusted one,
/// not TLS at all): that connection ends, the server goes on.
struct TlsHandshakeError : ProtocolError {
  using ProtocolError::ProtocolError;
};

/// Empties this thread's OpenSSL error queue into one line, oldest first, each entry as its
/// reason ("certificate verify failed"), joined by "; ". "" when the queue was empty.
std::string take_tls_errors();

/// Throws TlsError: "`what`: " and the queue's text (or "unknown OpenSSL error").
[[noreturn]] void throw_tls_error(const std::string& what);

}  // namespace sockserv
