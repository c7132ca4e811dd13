// The client's TLS: a verifying SSL_CTX and a non-blocking session with deadlines.
#include "tls_client.hpp"

#include <arpa/inet.h>
#include <poll.h>
#include <sysexits.h>

#include <cerrno>

#include "log.hpp"
#include "openssl.hpp"

namespace sockserv {
namespace {

std::string optional_string(const po::variables_map& values, const char* name) {
  return values.count(name) != 0U ? values[name].as<std::string>() : std::string();
}

// OpenSSL's words for the last error on this thread's queue: "wrong version number",
// "tlsv13 alert certificate required"...
std::string openssl_reason() {
  unsigned long error = ossl::ERR_peek_last_error();
  const char* reason = error != 0 ? ossl::ERR_reason_error_string(error) : nullptr;
  return reason != nullptr ? reason : "unknown TLS error";
}

[[noreturn]] void throw_unreadable(const std::string& option, const std::string& path) {
  throw FatalError(EX_NOINPUT, option + " " + path + ": cannot load it: " + openssl_reason());
}

bool is_address_literal(const std::string& host) {
  unsigned char buffer[sizeof(in6_addr)];
  return ::inet_pton(AF_INET, host.c_str(), buffer) == 1 ||
         ::inet_pton(AF_INET6, host.c_str(), buffer) == 1;
}

// A hint after the verifier's words, for the failures a user can do something about.
const char* hint_for(long verify_result) {
  switch (verify_result) {
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      return " (unknown CA: --ca FILE names the CA to trust)";
    default:
      return "";
  }
}

}  // namespace

void add_tls_client_options(po::options_description& options, bool with_switch) {
  if (with_switch)
    options.add_options()("tls", po::bool_switch(),
                          "connect with TLS, verifying the server's certificate and name");
  options.add_options()("ca", po::value<std::string>(),
                        "TLS: trust the CA certificates in FILE (PEM), not the system store")(
      "cert", po::value<std::string>(),
      "TLS: present the certificate (chain, PEM) in FILE to a server that asks (mutual TLS)")(
      "key", po::value<std::string>(), "TLS: the private key of --cert (PEM)")(
      "insecure", po::bool_switch(),
      "TLS: do not verify the server's certificate (prints a warning; for tests only)");
}

TlsClientSettings tls_client_settings(const po::variables_map& values, bool tls_on) {
  TlsClientSettings settings;
  settings.enabled = tls_on;
  settings.ca = optional_string(values, "ca");
  settings.cert = optional_string(values, "cert");
  settings.key = optional_string(values, "key");
  settings.insecure = values.count("insecure") != 0U && values["insecure"].as<bool>();
  bool any =
      !settings.ca.empty() || !settings.cert.empty() || !settings.key.empty() || settings.insecure;
  if (any && !tls_on) throw UsageError("--ca, --cert, --key and --insecure apply to TLS only");
  if (settings.cert.empty() != settings.key.empty())
    throw UsageError("--cert and --key go together");
  if (settings.insecure && !settings.ca.empty())
    throw UsageError("--insecure verifies nothing, so --ca would be ignored: give one of them");
  return settings;
}

TlsError::TlsError(const std::string& message) : FatalError(EX_UNAVAILABLE, message) {}

TlsClientContext::TlsClientContext(const TlsClientSettings& settings)
    : context_(ossl::SSL_CTX_new(ossl::TLS_client_method())) {
  if (!context_) throw std::runtime_error("SSL_CTX_new: " + openssl_reason());
  SSL_CTX* context = context_.get();
  // TLS 1.0 and 1.1 are deprecated (RFC 8996); compression at the TLS layer leaks (CRIME).
  ossl::SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
  ossl::SSL_CTX_set_options(context, SSL_OP_NO_COMPRESSION);
  // SSL_write may be retried with the same bytes at another address (our buffers move).
  ossl::SSL_CTX_set_mode(context, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (settings.insecure) {
    verifies_ = false;
    ossl::SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nullptr);
    log_warning(
        "--insecure: the server's certificate is NOT verified; anyone on the path "
        "can read and change this connection");
  } else {
    ossl::SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nullptr);
    if (!settings.ca.empty()) {
      if (ossl::SSL_CTX_load_verify_locations(context, settings.ca.c_str(), nullptr) != 1)
        throw_unreadable("--ca", settings.ca);
    } else if (ossl::SSL_CTX_set_default_verify_paths(context) != 1) {
      throw std::runtime_error("cannot load the system's CA store: " + openssl_reason());
    }
  }
  if (!settings.cert.empty()) {
    if (ossl::SSL_CTX_use_certificate_chain_file(context, settings.cert.c_str()) != 1)
      throw_unreadable("--cert", settings.cert);
    if (ossl::SSL_CTX_use_PrivateKey_file(context, settings.key.c_str(), SSL_FILETYPE_PEM) != 1)
      throw_unreadable("--key", settings.key);
    if (ossl::SSL_CTX_check_private_key(context) != 1)
      throw FatalError(EX_DATAERR,
                       "--key " + settings.key + " is not the key of --cert " + settings.cert);
  }
}

std::unique_ptr<TlsClientContext> tls_context_for(const TlsClientSettings& settings) {
  return settings.enabled ? std::make_unique<TlsClientContext>(settings) : nullptr;
}

TlsSession::TlsSession(const TlsClientContext& context, int fd, const std::string& host)
    : ssl_(ossl::SSL_new(context.get())), fd_(fd), host_(host.empty() ? "the server" : host) {
  if (ssl_ == nullptr || ossl::SSL_set_fd(ssl_, fd) != 1)
    throw std::runtime_error("SSL_new: " + openssl_reason());
  ossl::SSL_set_connect_state(ssl_);
  if (host.empty()) return;
  if (is_address_literal(host)) {
    // An address literal: the certificate must name the address (an IP SAN); no SNI, which
    // carries only DNS names (RFC 6066 3).
    if (ossl::X509_VERIFY_PARAM_set1_ip_asc(ossl::SSL_get0_param(ssl_), host.c_str()) != 1)
      throw std::runtime_error("bad address for TLS verification: " + host);
  } else {
    // SNI, so that a server with several names shows the right certificate; then the name
    // the certificate must carry (no partial wildcards such as "w*.example.org").
    ossl::SSL_set_hostflags(ssl_, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (ossl::SSL_set_tlsext_host_name(ssl_, host.c_str()) != 1 ||
        ossl::SSL_set1_host(ssl_, host.c_str()) != 1)
      throw std::runtime_error("bad host name for TLS: " + host);
  }
}

TlsSession::~TlsSession() {
  ossl::SSL_free(ssl_);
}

void TlsSession::wait_or_throw(int result, Deadline deadline, const char* doing) {
  int saved_errno = errno;
  short events = 0;
  switch (ossl::SSL_get_error(ssl_, result)) {
    case SSL_ERROR_WANT_READ:
      events = POLLIN;
      break;
    case SSL_ERROR_WANT_WRITE:
      events = POLLOUT;
      break;
    case SSL_ERROR_SYSCALL:
      if (saved_errno == EINTR) return;  // just try again
      if (saved_errno != 0)
        throw_errno(saved_errno, std::string("TLS ") + doing + " with " + host_);
      throw TlsError(host_ + " closed the connection during the TLS " + doing);
    case SSL_ERROR_SSL: {
      long verify = ossl::SSL_get_verify_result(ssl_);
      if (verify != X509_V_OK)
        throw TlsError("TLS: the certificate of " + host_ + " is refused: " +
                       ossl::X509_verify_cert_error_string(verify) + hint_for(verify));
      throw TlsError("TLS " + std::string(doing) + " with " + host_ +
                     " failed: " + openssl_reason());
    }
    default:
      throw TlsError("TLS " + std::string(doing) + " with " + host_ +
                     " failed: " + openssl_reason());
  }
  pollfd ready{.fd = fd_, .events = events, .revents = 0};
  if (!client_io().wait(std::span(&ready, 1), deadline))
    throw TimeoutError(std::string("TLS ") + doing + " with " + host_ + ": no progress in time");
}

void TlsSession::handshake(Deadline deadline) {
  for (;;) {
    ossl::ERR_clear_error();
    int result = ossl::SSL_connect(ssl_);
    if (result == 1) return;
    wait_or_throw(result, deadline, "handshake");
  }
}

size_t TlsSession::read_some(std::span<std::byte> buffer, Deadline deadline) {
  for (;;) {
    ossl::ERR_clear_error();
    size_t n = 0;
    int result = ossl::SSL_read_ex(ssl_, buffer.data(), buffer.size(), &n);
    if (result == 1) return n;
    int error = ossl::SSL_get_error(ssl_, result);
    if (error == SSL_ERROR_ZERO_RETURN) {  // the server's close_notify
      clean_close_ = true;
      return 0;
    }
    // The socket closed without close_notify: end of stream, but not an authenticated one
    // (closed_cleanly() stays false for callers whose data ends only at the close).
    if (error == SSL_ERROR_SSL &&
        ERR_GET_REASON(ossl::ERR_peek_last_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
      return 0;
    wait_or_throw(result, deadline, "read");
  }
}

bool TlsSession::has_buffered_input() const {
  return ossl::SSL_pending(ssl_) > 0;
}

void TlsSession::write_all(std::span<const std::byte> data, Deadline deadline) {
  while (!data.empty()) {
    ossl::ERR_clear_error();
    size_t n = 0;
    int result = ossl::SSL_write_ex(ssl_, data.data(), data.size(), &n);
    if (result == 1) {
      data = data.subspan(n);
      continue;
    }
    wait_or_throw(result, deadline, "write");
  }
}

void TlsSession::close_quietly() noexcept {
  // One try on the non-blocking socket: the close_notify tells the server the data really
  // ends here; if the socket cannot take it now, closing says as much.
  if (ossl::SSL_is_init_finished(ssl_) == 1) {
    ossl::ERR_clear_error();
    ossl::SSL_shutdown(ssl_);
    ossl::ERR_clear_error();
  }
}

std::string TlsSession::description() const {
  return std::string(ossl::SSL_get_version(ssl_)) + " " +
         ossl::SSL_CIPHER_get_name(ossl::SSL_get_current_cipher(ssl_));
}

}  // namespace sockserv
