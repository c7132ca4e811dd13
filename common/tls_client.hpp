// TLS on the client side (OpenSSL 3): the settings every TLS-speaking client shares
// (--tls, --ca, --cert/--key, --insecure), a client SSL_CTX made from them, and one TLS
// session over a connected, non-blocking socket whose reads and writes wait with deadlines,
// as io.hpp's do for clear sockets.
//
// What a client checks (RFC 9110 4.3.4, RFC 6125): the server's chain up to a trusted CA
// (--ca FILE, else the system store), that it has not expired, and that it was issued for
// the name we connected to (a DNS name, or an IP address for address literals). The name
// also goes out as SNI, so a server with several certificates can choose the right one.
// A failed check ends the handshake; the message names the reason as OpenSSL's verifier
// gives it ("certificate has expired", "Hostname mismatch"...).
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "error.hpp"
#include "io.hpp"
#include "openssl.hpp"
#include "program.hpp"

namespace sockserv {

/// What the command line asked for. `enabled` is --tls (or implied: https://, --smtps).
struct TlsClientSettings {
  bool enabled = false;
  std::string ca;         // --ca FILE: trust only these CAs ("" = the system store)
  std::string cert, key;  // --cert/--key: our certificate, for servers that ask (mutual TLS)
  bool insecure = false;  // --insecure: no verification at all (warned about on stderr)
};

/// Adds --ca, --cert, --key, --insecure (and --tls when `with_switch`: programs whose
/// address does not say TLS already, such as echo-client; http-client has https://).
void add_tls_client_options(po::options_description& options, bool with_switch);

/// The settings from parsed options. Throws UsageError for --cert without --key (or the
/// reverse), or for TLS options given while TLS is off. `tls_on` is TLS chosen some other
/// way (https://, --starttls), or false.
TlsClientSettings tls_client_settings(const po::variables_map& values, bool tls_on);

/// The handshake failed: the server's certificate was refused, or the server refused us.
/// Exit status 69 (EX_UNAVAILABLE): the server cannot be used, as for a refused connection.
struct TlsError : FatalError {
  explicit TlsError(const std::string& message);
};

/// A client SSL_CTX: TLS 1.2 minimum, the library's default ciphers, verification on
/// (unless --insecure, which prints its warning here, once), our certificate if given.
/// Throws FatalError (EX_NOINPUT, 66) when --ca, --cert or --key cannot be loaded.
class TlsClientContext {
 public:
  explicit TlsClientContext(const TlsClientSettings& settings);
  SSL_CTX* get() const { return context_.get(); }
  bool verifies() const { return verifies_; }

 private:
  struct Free {
    void operator()(SSL_CTX* context) const { ossl::SSL_CTX_free(context); }
  };
  std::unique_ptr<SSL_CTX, Free> context_;
  bool verifies_ = true;
};

/// The context for `settings`, or null when TLS is off.
std::unique_ptr<TlsClientContext> tls_context_for(const TlsClientSettings& settings);

/// One TLS session over `fd` (which it does not own: the caller's UniqueFd closes it).
/// The socket must be non-blocking: every wait goes through client_io() with a deadline.
class TlsSession {
 public:
  /// Prepares the session for the server named `host` (SNI and the certificate's name;
  /// "" checks no name, for unix sockets). Nothing is sent until handshake().
  TlsSession(const TlsClientContext& context, int fd, const std::string& host);
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  /// Runs the handshake. Throws TlsError (refused: the reason named), TimeoutError,
  /// std::system_error (the connection reset).
  void handshake(Deadline deadline);
  /// At least one byte of plaintext, or 0 when the server has closed.
  size_t read_some(std::span<std::byte> buffer, Deadline deadline);
  /// Plaintext already decrypted and waiting here: poll(2) on the socket cannot see it, so a
  /// program that polls must ask this first (a record can carry several lines).
  bool has_buffered_input() const;
  /// Encrypts and sends every byte.
  void write_all(std::span<const std::byte> data, Deadline deadline);
  /// True when the server ended with close_notify rather than just closing the socket: only
  /// then is "the data ends here" authenticated (an attacker can close a TCP connection).
  bool closed_cleanly() const { return clean_close_; }
  /// Sends our close_notify if the socket takes it now; never waits, never throws.
  void close_quietly() noexcept;
  /// "TLSv1.3 TLS_AES_256_GCM_SHA384", for a verbose line.
  std::string description() const;

 private:
  // Waits for what OpenSSL asked (WANT_READ/WANT_WRITE) or throws for what it reported.
  void wait_or_throw(int result, Deadline deadline, const char* doing);

  SSL* ssl_;
  int fd_;
  std::string host_;
  bool clean_close_ = false;
};

}  // namespace sockserv
