// TlsStream: one TLS connection over a non-blocking socket, waiting like everything else
// with the connection's IoContext (a poll, or a coroutine's yield to its event loop).
//
// OpenSSL reads and writes the socket itself. When the socket has nothing for it (or no
// room), SSL_read/SSL_write/SSL_do_handshake say WANT_READ or WANT_WRITE; this class then
// waits for that readiness with the deadline and calls again. Note that "wants to read" can
// come from a write (a TLS 1.3 key update) and the other way round, so each wait is for
// what OpenSSL asked, not for what the caller is doing. Server or client alike: the role is
// set on the SSL before it is handed over (SSL_set_accept_state, SSL_set_connect_state).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "io.hpp"
#include "openssl.hpp"
#include "tls_server.hpp"

namespace sockserv {

class TlsStream {
 public:
  /// What a failed SSL call waits for.
  enum class Want { read, write, eof };

  /// Attaches `ssl` to `fd`, which must be non-blocking (the waits are the IoContext's).
  TlsStream(SslPtr ssl, int fd);

  /// Runs the handshake. Throws TlsHandshakeError with OpenSSL's reason (and the
  /// certificate check's), TimeoutError at the deadline, std::system_error when the peer
  /// resets the connection.
  void handshake(Deadline deadline, IoContext& io);

  /// At least one byte; 0 when the peer ended the stream (close_notify or end of file).
  size_t read(std::span<std::byte> buffer, Deadline deadline, IoContext& io);
  /// read without waiting: nullopt when no whole record is there yet.
  std::optional<size_t> try_read(std::span<std::byte> buffer, IoContext& io);
  /// True when OpenSSL holds decrypted bytes not yet read: readable, although the socket
  /// itself may have nothing (poll would sleep on bytes already here).
  bool has_buffered() const { return ossl::SSL_pending(ssl_.get()) > 0; }

  /// Sends every byte, adding to `sent` what OpenSSL accepted (plaintext bytes).
  void write_all(std::span<const std::byte> data, Deadline deadline, IoContext& io, uint64_t& sent);
  /// Sends what fits now; 0 when the socket is full. Retry with the same bytes first.
  size_t write_some(std::span<const std::byte> data, IoContext& io);
  /// `count` bytes of a file from `offset`: read(2) into a buffer and SSL_write, since
  /// sendfile(2) cannot encrypt (kernel TLS could: not used, see docs/tls.md).
  void send_file(int file_fd, uint64_t offset, uint64_t count, Deadline deadline, IoContext& io,
                 uint64_t& sent);
  /// Sends close_notify (once, without waiting for the peer's), unless the connection broke.
  void close_notify();

  /// The peer certificate's subject, RFC 2253 ("O=Example,CN=alice"), as the peer wrote it:
  /// escape it before it reaches a log. "" when the peer sent none.
  std::string peer_subject() const;
  /// "TLSv1.3 TLS_AES_256_GCM_SHA384", "resumed" added for a resumed session.
  std::string description() const;

 private:
  /// After a failed SSL call: what OpenSSL waits for, or eof when the peer ended the
  /// stream. Throws ProtocolError (a TLS error) or std::system_error (ECONNRESET...).
  Want classify(int result, const char* call);
  /// classify, then wait for what it wants: true to call again, false at the end of stream.
  bool settle(int result, const char* call, Deadline deadline, IoContext& io);

  SslPtr ssl_;
  int fd_;
  bool broken_ = false;  // a fatal error happened: no close_notify may follow (OpenSSL's rule)
  bool closed_ = false;
};

}  // namespace sockserv
