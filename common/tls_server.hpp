// TlsServer: a server's TLS context (OpenSSL's SSL_CTX) built from --tls-cert and --tls-key,
// with --tls-client-ca for mutual TLS, and reloaded on SIGHUP without dropping a connection.
//
// Where the context lives: one per process. Threads (thread, prethread, epoll) share it and
// take a reference for each new connection, so a reload swaps it under them while the
// connections already running keep the one they began with. Forked processes get a copy:
// a fork child made after a reload copies the new one; a prefork worker, forked before,
// sees the reload's generation number in shared memory (as the access log does) and loads
// the files itself before its next handshake. Try it: docs/tls.md.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "openssl.hpp"
#include "shared_memory.hpp"
#include "tls_settings.hpp"

namespace sockserv {

/// Frees what OpenSSL allocated, for std::unique_ptr.
struct SslFree {
  void operator()(SSL* ssl) const { ossl::SSL_free(ssl); }
  void operator()(SSL_CTX* context) const { ossl::SSL_CTX_free(context); }
};
using SslPtr = std::unique_ptr<SSL, SslFree>;
using SslContextPtr = std::unique_ptr<SSL_CTX, SslFree>;

class TlsServer {
 public:
  /// Loads the certificate, key and client CA. Throws FatalError (EX_CONFIG) naming the file
  /// and OpenSSL's reason. `name` (the program's) tells its sessions from other programs'.
  TlsServer(TlsServerSettings settings, std::string name);
  TlsServer(const TlsServer&) = delete;
  TlsServer& operator=(const TlsServer&) = delete;

  /// SIGHUP, in the server's main process: loads the files again and logs the outcome. A
  /// certificate or key that fails to load (or do not match) leaves the old ones in force.
  void reload();
  /// A server-side SSL for one accepted connection, from the context in force. Any thread.
  SslPtr new_session();

  const TlsServerSettings& settings() const { return settings_; }
  /// True when `subject` (RFC 2253, from Connection::peer_subject) may be served: always
  /// without --allow-subject, else only if it is one of them, exactly.
  bool subject_allowed(std::string_view subject) const;

 private:
  struct Shared {
    std::atomic<uint64_t> generation{0};  // bumped by each successful reload in the parent
    // The keys that encrypt session tickets (OpenSSL's 80-byte layout: name, HMAC key, AES
    // key), random, made once before any fork. Every context of every process uses them,
    // also after a reload: a ticket from one prefork worker resumes in any other.
    unsigned char ticket_keys[80];
  };
  void follow_reload(uint64_t wanted);

  TlsServerSettings settings_;
  std::string name_;
  std::mutex mutex_;  // guards context_ while a reload swaps it
  SslContextPtr context_;
  SharedMemory<Shared> shared_;                 // made before any fork: workers see reloads
  std::atomic<uint64_t> loaded_generation_{0};  // the generation context_ was loaded for
};

}  // namespace sockserv
