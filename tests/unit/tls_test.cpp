// TLS under Connection (common/tls_stream, tls_server, tls_error), over a socketpair with an
// OpenSSL client on the other end: bytes OpenSSL holds count as readable, a handshake that
// is not TLS fails with OpenSSL's reason, and the error queue becomes one message.
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>

#include <boost/test/unit_test.hpp>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>

#include "connection.hpp"
#include "fd.hpp"
#include "io.hpp"
#include "tls_error.hpp"
#include "tls_server.hpp"

using namespace sockserv;
using namespace std::chrono_literals;

namespace {

// A self-signed EC certificate and its key, written as PEM files into a fresh directory.
struct SelfSigned {
  std::filesystem::path dir;
  TlsServerSettings settings;
  SelfSigned() {
    char name[] = "/tmp/sockserv-tls-unit-XXXXXX";
    BOOST_REQUIRE(::mkdtemp(name) != nullptr);
    dir = name;
    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* cert = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_set_pubkey(cert, key);
    X509_NAME* subject = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
    X509_set_issuer_name(cert, subject);
    X509_sign(cert, key, EVP_sha256());
    settings.cert_file = (dir / "cert.pem").string();
    settings.key_file = (dir / "key.pem").string();
    FILE* out = std::fopen(settings.cert_file.c_str(), "w");
    PEM_write_X509(out, cert);
    std::fclose(out);
    out = std::fopen(settings.key_file.c_str(), "w");
    PEM_write_PrivateKey(out, key, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(out);
    X509_free(cert);
    EVP_PKEY_free(key);
  }
  ~SelfSigned() { std::filesystem::remove_all(dir); }
};

struct Pair {
  UniqueFd server;
  UniqueFd client;
  Pair() {
    int fds[2];
    BOOST_REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
    server.reset(fds[0]);
    client.reset(fds[1]);
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(tls)

BOOST_AUTO_TEST_CASE(bytes_openssl_holds_are_readable_though_the_socket_is_empty) {
  SelfSigned files;
  TlsServer tls(files.settings, "tls-unit");
  Pair pair;
  // The client: a blocking OpenSSL client on its own thread, one write of two lines.
  std::jthread client([fd = pair.client.get()] {
    SSL_CTX* context = SSL_CTX_new(TLS_client_method());
    SSL* ssl = SSL_new(context);
    SSL_set_fd(ssl, fd);
    if (SSL_connect(ssl) == 1) {
      SSL_write(ssl, "first\nsecond\n", 13);
      char sink[64];
      SSL_read(ssl, sink, sizeof sink);  // until the server closes
    }
    SSL_free(ssl);
    SSL_CTX_free(context);
  });
  Connection connection(std::move(pair.server), SocketAddress{}, client_io(),
                        ConnectionTimeouts{.idle = 10'000ms, .message = 0ms}, SocketSetup{});
  connection.accept_tls(tls);
  BOOST_TEST(connection.tls());
  BOOST_TEST(connection.tls_description().rfind("TLSv1.3 ", 0) == 0u);
  std::byte one[1];
  BOOST_TEST(connection.read_some(one) == 1u);  // 'f': the rest of the record stays in OpenSSL
  BOOST_TEST(static_cast<char>(one[0]) == 'f');
  // Nothing is left in the socket, yet the connection is readable: poll alone would sleep.
  Readiness ready = connection.wait_readable({}, Deadline::after(200ms));
  BOOST_TEST(ready.connection);
  Line rest = connection.read_line(100);
  BOOST_TEST(rest.text == "irst");
  BOOST_TEST(connection.try_read_line(100).text == "second");
  connection.close_gracefully();
}

BOOST_AUTO_TEST_CASE(a_client_that_is_not_tls_fails_the_handshake_with_openssls_reason) {
  SelfSigned files;
  TlsServer tls(files.settings, "tls-unit");
  Pair pair;
  write_all(pair.client.get(), "GET / HTTP/1.1\r\n\r\n", Deadline::never(), client_io());
  Connection connection(std::move(pair.server), SocketAddress{}, client_io(),
                        ConnectionTimeouts{.idle = 10'000ms, .message = 0ms}, SocketSetup{});
  BOOST_CHECK_EXCEPTION(connection.accept_tls(tls), TlsHandshakeError,
                        [](const TlsHandshakeError& e) {
                          return std::string(e.what()) == "TLS handshake: http request";
                        });
  BOOST_TEST(!connection.tls());
  BOOST_TEST(ERR_peek_error() == 0u);  // the queue was emptied into the message
}

BOOST_AUTO_TEST_CASE(the_error_queue_becomes_one_message_and_is_emptied) {
  BOOST_TEST(take_tls_errors().empty());
  SSL_CTX* context = SSL_CTX_new(TLS_server_method());
  BOOST_TEST(SSL_CTX_use_certificate_chain_file(context, "/nonexistent/cert.pem") != 1);
  SSL_CTX_free(context);
  try {
    throw_tls_error("--tls-cert /nonexistent/cert.pem");
    BOOST_FAIL("no exception");
  } catch (const TlsError& e) {
    std::string message = e.what();
    BOOST_TEST(message.rfind("--tls-cert /nonexistent/cert.pem: ", 0) == 0u);
    BOOST_TEST(message.find("No such file or directory") != std::string::npos, message);
  }
  BOOST_TEST(ERR_peek_error() == 0u);
  BOOST_CHECK_EXCEPTION(throw_tls_error("nothing"), TlsError, [](const TlsError& e) {
    return std::string(e.what()) == "nothing: unknown OpenSSL error";
  });
}

BOOST_AUTO_TEST_SUITE_END()
