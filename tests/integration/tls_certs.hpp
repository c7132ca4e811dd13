// Certificates for TLS tests, made by the real `openssl` command in a temporary directory:
// a CA, server certificates for 127.0.0.1/::1/localhost, client certificates, an expired
// one. Shared by the server-side and client-side TLS tests.
#pragma once

#include <string>

#include "harness.hpp"

namespace sockserv::test {

/// A certificate and its private key, PEM files.
struct CertFiles {
  std::string cert;
  std::string key;
};

/// A private CA in a TempDir of its own, and what it signs. EC P-256 keys: made in
/// milliseconds, even on a loaded CI machine. Throws std::runtime_error if openssl fails.
class TestPki {
 public:
  TestPki();
  TestPki(const TestPki&) = delete;
  TestPki& operator=(const TestPki&) = delete;

  /// The CA's certificate: what clients (--cacert, -CAfile) and --tls-client-ca trust.
  const std::string& ca_cert() const { return ca_.cert; }
  /// A server certificate for `cn`, with subjectAltName localhost, 127.0.0.1 and ::1,
  /// signed by the CA; files named after `name`. `days` < 0: expired that many days ago.
  CertFiles server(const std::string& name, const std::string& cn = "localhost",
                   int days = 2) const;
  /// A client certificate (extendedKeyUsage clientAuth) with subject /CN=`cn`/O=sockserv
  /// tests, signed by the CA; RFC 2253 form: "O=sockserv tests,CN=`cn`".
  CertFiles client(const std::string& name, const std::string& cn) const;
  /// A self-signed server certificate for localhost that no CA vouches for.
  CertFiles self_signed(const std::string& name) const;
  /// The directory the files live in.
  const std::filesystem::path& dir() const { return dir_.path; }

 private:
  CertFiles sign(const std::string& name, const std::string& subject, const std::string& extensions,
                 int days) const;

  TempDir dir_;
  CertFiles ca_;
};

/// Runs /usr/bin/openssl with `args`; throws std::runtime_error with its stderr on failure.
std::string run_openssl(const std::vector<std::string>& args);

}  // namespace sockserv::test
