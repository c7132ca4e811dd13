// TlsServerSettings: what a server's TLS options decide (docs/tls.md). No OpenSSL here, so
// the option code does not pull libssl's headers in.
#pragma once

#include <string>
#include <vector>

#include "io.hpp"

namespace sockserv {

/// What the TLS options decide (all empty: TLS off).
struct TlsServerSettings {
  std::string cert_file;       // --tls-cert: PEM, the certificate then its chain
  std::string key_file;        // --tls-key: PEM, unencrypted
  std::string client_ca_file;  // --tls-client-ca: clients must show a certificate it signed
  std::vector<std::string> allowed_subjects;  // --allow-subject: RFC 2253 subjects (or any)
  Millis handshake_timeout{10'000};           // --tls-handshake-timeout; 0: no limit
  bool enabled() const { return !cert_file.empty(); }
};

}  // namespace sockserv
