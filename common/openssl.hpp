// OpenSSL, loaded at the first TLS call: ossl::SSL_new(...) is OpenSSL's SSL_new, found in
// libssl.so.3 with dlopen(3) the first time any of these functions is called.
//
// Why not link libssl like any other library: a library linked in is mapped into every
// process from its start, TLS or not. OpenSSL brings 10 mappings and 460 KiB of data that
// the dynamic linker relocates at start, pages private to the process; fork() shares them
// copy-on-write, but every process maps them and fork() copies their page table entries.
// Measured, echo-server with 64 prefork workers: 33 mappings instead of 44, and over the
// tree 70 MiB of RSS instead of 106, 7.4 MiB of PSS instead of 9.1 (docs/benchmarks.md).
// Loaded on demand, OpenSSL is in a server's memory
// only with --tls, as Apache loads mod_ssl only when configured; it stays a shared library,
// so OpenSSL's security updates still reach every program with the system's.
//
// Each call goes through a pointer looked up once. OpenSSL's macros (SSL_CTX_set_mode,
// SSL_set_tlsext_host_name, BIO_get_mem_data...) expand to a call of SSL_CTX_ctrl, SSL_ctrl
// or BIO_ctrl; written ossl::SSL_CTX_set_mode(...), they call the loaded one as well. The
// headers are OpenSSL's own: only the linking changes, the types and constants are theirs.
#pragma once

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

// Every OpenSSL function the suite's TLS code calls. The programs are linked without -lssl
// (Makefile), so a libssl function called without ossl:: is a link error, not a silent
// return of the library; tls_server/openssl_is_in_memory_only_with_tls checks libcrypto.
// One line per group of names (clang-format would run them together).
// clang-format off
#define SOCKSERV_OPENSSL_FUNCTIONS(X)                                                          \
  X(ASN1_TIME_print)                                                                           \
  X(BIO_ctrl) X(BIO_free) X(BIO_new) X(BIO_puts) X(BIO_s_mem)                                  \
  X(ERR_clear_error) X(ERR_get_error_all) X(ERR_peek_last_error) X(ERR_reason_error_string)    \
  X(RAND_bytes)                                                                                \
  X(SSL_CIPHER_get_name)                                                                       \
  X(SSL_CTX_check_private_key) X(SSL_CTX_clear_options) X(SSL_CTX_ctrl) X(SSL_CTX_free)        \
  X(SSL_CTX_get0_certificate) X(SSL_CTX_load_verify_locations) X(SSL_CTX_new)                  \
  X(SSL_CTX_set_client_CA_list) X(SSL_CTX_set_default_passwd_cb)                               \
  X(SSL_CTX_set_default_verify_paths) X(SSL_CTX_set_options) X(SSL_CTX_set_session_id_context) \
  X(SSL_CTX_set_verify) X(SSL_CTX_up_ref) X(SSL_CTX_use_PrivateKey_file)                       \
  X(SSL_CTX_use_certificate_chain_file)                                                        \
  X(SSL_connect) X(SSL_ctrl) X(SSL_do_handshake) X(SSL_free) X(SSL_get0_param)                 \
  X(SSL_get0_peer_certificate) X(SSL_get_current_cipher) X(SSL_get_error)                      \
  X(SSL_get_verify_result) X(SSL_get_version) X(SSL_is_init_finished)                          \
  X(SSL_load_client_CA_file) X(SSL_new) X(SSL_pending) X(SSL_read_ex) X(SSL_session_reused)    \
  X(SSL_set1_host) X(SSL_set_accept_state) X(SSL_set_connect_state) X(SSL_set_fd)             \
  X(SSL_set_hostflags) X(SSL_shutdown) X(SSL_write_ex)                                         \
  X(TLS_client_method) X(TLS_server_method)                                                    \
  X(X509_NAME_print_ex) X(X509_VERIFY_PARAM_set1_ip_asc) X(X509_cmp_current_time)              \
  X(X509_get0_notAfter) X(X509_get_subject_name) X(X509_verify_cert_error_string)
// clang-format on

namespace sockserv::ossl {

/// Where each function is in the loaded library: a pointer of the function's own type.
struct Functions {
#define SOCKSERV_OPENSSL_POINTER(name) decltype(&::name) name;
  SOCKSERV_OPENSSL_FUNCTIONS(SOCKSERV_OPENSSL_POINTER)
#undef SOCKSERV_OPENSSL_POINTER
};

/// The functions, loaded at the first call (from any thread; later calls only read them).
/// Throws FatalError (EX_UNAVAILABLE) naming the library or function that is missing.
const Functions& functions();

/// ossl::NAME: a function with NAME's exact parameters (so NULL and lambdas convert as in a
/// direct call) that calls the loaded NAME.
template <auto Member, typename Function>
struct Call;
template <auto Member, typename Result, typename... Parameters>
struct Call<Member, Result (*)(Parameters...)> {
  static Result call(Parameters... arguments) { return (functions().*Member)(arguments...); }
};
#define SOCKSERV_OPENSSL_CALL(name) \
  inline constexpr auto name = &Call<&Functions::name, decltype(&::name)>::call;
SOCKSERV_OPENSSL_FUNCTIONS(SOCKSERV_OPENSSL_CALL)
#undef SOCKSERV_OPENSSL_CALL

}  // namespace sockserv::ossl
