// ClientStream: a client's connection to its server, in clear or over TLS, read and written
// the same way either way. The program connects, optionally starts TLS (at once for --tls,
// or later: SMTP's STARTTLS), and from then on never asks which it is.
//
// Each call waits at most `timeout` (0: forever) for progress, as FdStream does; it is a
// ByteSource and ByteSink, so the frame functions of framing.hpp run over it unchanged.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "address.hpp"
#include "fd.hpp"
#include "framing.hpp"
#include "io.hpp"
#include "tls_client.hpp"

namespace sockserv {

class ClientStream : public ByteSource, public ByteSink {
 public:
  /// Takes a connected socket (made non-blocking here).
  ClientStream(UniqueFd socket, Millis timeout);
  ~ClientStream() override;
  ClientStream(ClientStream&&) noexcept = default;

  /// Starts TLS on the connection: the handshake, within the timeout, checking the server's
  /// certificate against `host` ("" checks no name). Throws TlsError, TimeoutError.
  void start_tls(const TlsClientContext& context, const std::string& host);

  size_t read_some(std::span<std::byte> buffer) override;
  size_t read_some(std::span<std::byte> buffer, Deadline deadline);
  /// Fills `buffer` unless the stream ends first; returns the bytes read.
  size_t read_full(std::span<std::byte> buffer, Deadline deadline);
  void write_all(std::span<const std::byte> data) override;
  void write_all(std::span<const std::byte> data, Deadline deadline);
  /// sendfile(2) in clear; over TLS the file is read here and encrypted (no kTLS).
  void send_file(int file_fd, uint64_t offset, uint64_t count) override;

  int socket() const { return socket_.get(); }
  /// Bytes that a read would return without touching the socket (decrypted TLS records):
  /// a program that polls the socket must check this first, or wait for data it already has.
  bool has_buffered_input() const { return tls_ && tls_->has_buffered_input(); }
  bool encrypted() const { return tls_ != nullptr; }
  /// Over TLS: the server ended with close_notify. In clear: always true (nothing to tell).
  bool closed_cleanly() const { return tls_ == nullptr || tls_->closed_cleanly(); }
  Millis timeout() const { return timeout_; }
  void set_timeout(Millis timeout) { timeout_ = timeout; }

 private:
  Deadline next_deadline() const { return Deadline::after_or_never(timeout_); }

  UniqueFd socket_;
  Millis timeout_;
  std::unique_ptr<TlsSession> tls_;  // declared after socket_: destroyed (SSL_free) first
};

/// The name a TLS client checks the certificate of `server` against: its host ("" for unix
/// sockets, whose certificate is checked against the CA alone).
std::string tls_name_of(const Endpoint& server);

/// The TLS context that --tls and its options (add_tls_client_options) ask for, or nullptr
/// for a connection in clear. --tls with a datagram address is a UsageError: TLS needs a
/// stream.
std::unique_ptr<TlsClientContext> tls_context_for(const po::variables_map& values,
                                                  const Endpoint& server);

/// Connects to `server` (connect_to) and, when `tls` is enabled, starts TLS with `context`.
ClientStream open_client_stream(const Endpoint& server, Millis timeout,
                                const TlsClientContext* context);

}  // namespace sockserv
