// The server's SSL_CTX: built from files, swapped on SIGHUP, followed by prefork workers.
#include "tls_server.hpp"

#include <algorithm>

#include "error.hpp"
#include "log.hpp"
#include "openssl.hpp"
#include "tls_error.hpp"

namespace sockserv {
namespace {

// An encrypted key would make OpenSSL ask for its passphrase on the terminal, which a
// server under systemd does not have (and a prefork worker reloading must never wait on).
int no_passphrase(char*, int, int, void*) {
  return 0;  // no passphrase: loading fails with a message instead of blocking
}

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  long size = ossl::BIO_get_mem_data(bio, &data);
  return size > 0 ? std::string(data, static_cast<size_t>(size)) : std::string();
}

// "CN=localhost, valid until Dec  2 06:00:00 2027 GMT": what an administrator checks first.
std::string describe_certificate(SSL_CTX* context) {
  X509* certificate = ossl::SSL_CTX_get0_certificate(context);
  if (certificate == nullptr) return "no certificate";
  std::unique_ptr<BIO, decltype(ossl::BIO_free)> bio(ossl::BIO_new(ossl::BIO_s_mem()),
                                                     ossl::BIO_free);
  if (!bio) return "a certificate";
  ossl::X509_NAME_print_ex(bio.get(), ossl::X509_get_subject_name(certificate), 0, XN_FLAG_RFC2253);
  ossl::BIO_puts(bio.get(), ", valid until ");
  ossl::ASN1_TIME_print(bio.get(), ossl::X509_get0_notAfter(certificate));
  std::string text = bio_text(bio.get());
  if (ossl::X509_cmp_current_time(ossl::X509_get0_notAfter(certificate)) < 0) text += " (EXPIRED)";
  ossl::ERR_clear_error();
  return text;
}

void load_client_ca(SSL_CTX* context, const std::string& file) {
  // Trust: the certificates a client's chain must lead to.
  if (ossl::SSL_CTX_load_verify_locations(context, file.c_str(), nullptr) != 1)
    throw_tls_error("--tls-client-ca " + file);
  // The names sent in the CertificateRequest, so a client with several certificates can
  // choose the right one.
  STACK_OF(X509_NAME)* names = ossl::SSL_load_client_CA_file(file.c_str());
  if (names == nullptr) throw_tls_error("--tls-client-ca " + file);
  ossl::SSL_CTX_set_client_CA_list(context, names);
  // Mutual TLS: a client without a certificate, or with one the CA did not sign, fails
  // the handshake before the handler ever runs.
  ossl::SSL_CTX_set_verify(context, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
}

// Throws TlsError naming the option, the file and OpenSSL's reason.
SslContextPtr make_context(const TlsServerSettings& settings, const std::string& name,
                           const unsigned char (&ticket_keys)[80]) {
  ossl::ERR_clear_error();
  SslContextPtr context(ossl::SSL_CTX_new(ossl::TLS_server_method()));
  if (!context) throw_tls_error("SSL_CTX_new");
  SSL_CTX* ctx = context.get();
  // TLS 1.2 and 1.3 only: SSL 3, TLS 1.0 and 1.1 are broken or deprecated (RFC 8996).
  ossl::SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // No compression (CRIME); no renegotiation a client can start (a cheap way to make the
  // server do expensive handshakes); a client that closes without close_notify reads as a
  // plain end of file, as it does without TLS (the protocols here carry their own lengths).
  // Session tickets stay on (OpenSSL's default): a returning client skips the key exchange.
  ossl::SSL_CTX_set_options(
      ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF);
  ossl::SSL_CTX_clear_options(ctx, SSL_OP_NO_TICKET);
  // The server's own ticket keys, not the random ones each new context would draw: contexts
  // made after a reload, in each prefork worker separately, must still open each other's
  // tickets.
  if (ossl::SSL_CTX_set_tlsext_ticket_keys(ctx, const_cast<unsigned char*>(ticket_keys),
                                           sizeof ticket_keys) != 1)
    throw_tls_error("session ticket keys");
  // No session cache in the server's memory: tickets carry the session to the client
  // instead, and every process of a prefork pool or fork model can resume them (they
  // inherit the same ticket keys), where a per-process cache would mostly miss. Memory stays
  // flat however many clients come (OpenSSL's cache holds up to 20,480 sessions).
  ossl::SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  // SSL_write may return after some records (write_some), and a write retried after
  // WANT_WRITE may pass the same bytes from another address (a queue that was moved).
  // Idle connections give their read and write buffers back (10,000 idle clients under epoll).
  ossl::SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                                  SSL_MODE_RELEASE_BUFFERS);
  // Sessions resumed with a client certificate must belong to this program.
  ossl::SSL_CTX_set_session_id_context(ctx, reinterpret_cast<const unsigned char*>(name.data()),
                                       static_cast<unsigned>(std::min<size_t>(name.size(), 32)));
  ossl::SSL_CTX_set_default_passwd_cb(ctx, no_passphrase);
  if (ossl::SSL_CTX_use_certificate_chain_file(ctx, settings.cert_file.c_str()) != 1)
    throw_tls_error("--tls-cert " + settings.cert_file);
  if (ossl::SSL_CTX_use_PrivateKey_file(ctx, settings.key_file.c_str(), SSL_FILETYPE_PEM) != 1)
    throw_tls_error("--tls-key " + settings.key_file);
  if (ossl::SSL_CTX_check_private_key(ctx) != 1)
    throw_tls_error("--tls-key " + settings.key_file + " does not match --tls-cert " +
                    settings.cert_file);
  if (!settings.client_ca_file.empty()) load_client_ca(ctx, settings.client_ca_file);
  return context;
}

}  // namespace

TlsServer::TlsServer(TlsServerSettings settings, std::string name)
    : settings_(std::move(settings)),
      name_(std::move(name)),
      shared_("TLS generation and ticket keys") {
  try {
    if (ossl::RAND_bytes(shared_->ticket_keys, sizeof shared_->ticket_keys) != 1)
      throw_tls_error("RAND_bytes (session ticket keys)");
    context_ = make_context(settings_, name_, shared_->ticket_keys);
  } catch (const TlsError& e) {
    throw FatalError(EX_CONFIG, e.what());
  }
  std::string certificate = describe_certificate(context_.get());
  if (certificate.find("(EXPIRED)") != std::string::npos) {
    log_warning("TLS: ", settings_.cert_file, ": ", certificate, ": clients will refuse it");
  } else {
    log_info("TLS: ", settings_.cert_file, ": ", certificate,
             settings_.client_ca_file.empty()
                 ? std::string()
                 : "; client certificates required (" + settings_.client_ca_file + ")");
  }
}

void TlsServer::reload() {
  SslContextPtr fresh;
  try {
    fresh = make_context(settings_, name_, shared_->ticket_keys);
  } catch (const TlsError& e) {
    log_error("SIGHUP: TLS: ", e.what(), "; still serving the certificate loaded before");
    return;
  }
  std::string certificate = describe_certificate(fresh.get());
  {
    std::lock_guard lock(mutex_);
    context_.swap(fresh);  // connections already running hold their own reference
    uint64_t generation = shared_->generation.fetch_add(1, std::memory_order_acq_rel) + 1;
    loaded_generation_.store(generation, std::memory_order_release);
  }
  log_info("SIGHUP: TLS: reloaded ", settings_.cert_file, ": ", certificate);
}

// A prefork worker (or a fork child of a parent that reloaded after forking it): the
// parent reloaded, so load the same files here. Tried once per reload; a failure keeps
// what this process had.
void TlsServer::follow_reload(uint64_t wanted) {
  std::lock_guard lock(mutex_);
  if (wanted == loaded_generation_.load(std::memory_order_relaxed)) return;
  try {
    context_ = make_context(settings_, name_, shared_->ticket_keys);
    log_debug("TLS: this worker reloaded ", settings_.cert_file);
  } catch (const TlsError& e) {
    log_error("TLS: this worker could not reload: ", e.what(), "; keeping its certificate");
  }
  loaded_generation_.store(wanted, std::memory_order_release);
}

SslPtr TlsServer::new_session() {
  uint64_t wanted = shared_->generation.load(std::memory_order_acquire);
  if (wanted != loaded_generation_.load(std::memory_order_acquire)) follow_reload(wanted);
  SSL_CTX* context = nullptr;
  {
    // A reference of our own, so a reload on another thread cannot free it under SSL_new.
    std::lock_guard lock(mutex_);
    context = context_.get();
    ossl::SSL_CTX_up_ref(context);
  }
  SslContextPtr held(context);
  ossl::ERR_clear_error();
  SslPtr ssl(ossl::SSL_new(context));  // takes its own reference to the context
  if (!ssl) throw_tls_error("SSL_new");
  ossl::SSL_set_accept_state(ssl.get());
  return ssl;
}

bool TlsServer::subject_allowed(std::string_view subject) const {
  const std::vector<std::string>& allowed = settings_.allowed_subjects;
  return allowed.empty() || std::find(allowed.begin(), allowed.end(), subject) != allowed.end();
}

}  // namespace sockserv
