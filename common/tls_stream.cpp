// One TLS connection: OpenSSL's WANT_READ/WANT_WRITE turned into the IoContext's waits.
#include "tls_stream.hpp"

#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <vector>

#include "error.hpp"
#include "openssl.hpp"
#include "tls_error.hpp"

namespace sockserv {
namespace {

constexpr size_t kFileChunk = 64 * 1024;  // four full TLS records per SSL_write

short poll_events(TlsStream::Want want) {
  return want == TlsStream::Want::write ? POLLOUT : POLLIN;
}

// Each SSL call starts with an empty error queue and errno, so that what SSL_get_error and
// errno say afterwards is about this call, not an earlier one on the same thread.
void before_ssl_call() {
  ossl::ERR_clear_error();
  errno = 0;
}

}  // namespace

TlsStream::TlsStream(SslPtr ssl, int fd) : ssl_(std::move(ssl)), fd_(fd) {
  if (ossl::SSL_set_fd(ssl_.get(), fd_) != 1) throw_tls_error("SSL_set_fd");
}

TlsStream::Want TlsStream::classify(int result, const char* call) {
  int error = ossl::SSL_get_error(ssl_.get(), result);
  int saved_errno = errno;
  switch (error) {
    case SSL_ERROR_WANT_READ:
      return Want::read;
    case SSL_ERROR_WANT_WRITE:
      return Want::write;
    case SSL_ERROR_ZERO_RETURN:
      return Want::eof;  // close_notify: the peer ended the stream cleanly
    case SSL_ERROR_SYSCALL: {
      // (EINTR and EAGAIN never land here: OpenSSL's socket BIO turns them into WANT_*.)
      std::string queue = take_tls_errors();
      broken_ = true;
      if (saved_errno != 0) throw_errno(saved_errno, call);  // ECONNRESET, EPIPE: peer gone
      if (!queue.empty()) throw ProtocolError(std::string(call) + ": " + queue);
      return Want::eof;  // end of file without close_notify
    }
    default:
      broken_ = true;
      std::string queue = take_tls_errors();
      throw ProtocolError(std::string(call) + ": " + (queue.empty() ? "TLS error" : queue));
  }
}

bool TlsStream::settle(int result, const char* call, Deadline deadline, IoContext& io) {
  Want want = classify(result, call);
  if (want == Want::eof) return false;
  wait_for(fd_, poll_events(want), deadline, io, call);
  return true;
}

void TlsStream::handshake(Deadline deadline, IoContext& io) {
  for (;;) {
    before_ssl_call();
    int result = ossl::SSL_do_handshake(ssl_.get());
    if (result == 1) return;
    Want want = Want::eof;
    try {
      want = classify(result, "TLS handshake");
    } catch (const ProtocolError& e) {
      // The reason OpenSSL gives ("certificate verify failed") and why the check failed.
      std::string message = e.what();
      long verdict = ossl::SSL_get_verify_result(ssl_.get());
      if (verdict != X509_V_OK)
        message += std::string(" (") + ossl::X509_verify_cert_error_string(verdict) + ")";
      throw TlsHandshakeError(message);
    }
    if (want == Want::eof) {
      broken_ = true;
      throw TlsHandshakeError("TLS handshake: the peer closed the connection");
    }
    wait_for(fd_, poll_events(want), deadline, io, "TLS handshake");
  }
}

size_t TlsStream::read(std::span<std::byte> buffer, Deadline deadline, IoContext& io) {
  for (;;) {
    before_ssl_call();
    size_t n = 0;
    int result = ossl::SSL_read_ex(ssl_.get(), buffer.data(), buffer.size(), &n);
    if (result == 1) return n;
    if (!settle(result, "SSL_read", deadline, io)) return 0;
  }
}

std::optional<size_t> TlsStream::try_read(std::span<std::byte> buffer, IoContext& io) {
  before_ssl_call();
  size_t n = 0;
  int result = ossl::SSL_read_ex(ssl_.get(), buffer.data(), buffer.size(), &n);
  if (result == 1) return n;
  Want want = classify(result, "SSL_read");
  if (want == Want::eof) return 0;
  io.would_block(fd_, poll_events(want));  // an event loop's remembered edge is used up
  return std::nullopt;
}

void TlsStream::write_all(std::span<const std::byte> data, Deadline deadline, IoContext& io,
                          uint64_t& sent) {
  while (!data.empty()) {
    before_ssl_call();
    size_t n = 0;
    int result = ossl::SSL_write_ex(ssl_.get(), data.data(), data.size(), &n);
    if (result == 1) {
      data = data.subspan(n);  // partial writes are on: some records went, send the rest
      sent += n;
      continue;
    }
    if (!settle(result, "SSL_write", deadline, io)) throw_errno(EPIPE, "SSL_write");
  }
}

size_t TlsStream::write_some(std::span<const std::byte> data, IoContext& io) {
  before_ssl_call();
  size_t n = 0;
  int result = ossl::SSL_write_ex(ssl_.get(), data.data(), data.size(), &n);
  if (result == 1) return n;
  Want want = classify(result, "SSL_write");
  if (want == Want::eof) throw_errno(EPIPE, "SSL_write");
  io.would_block(fd_, poll_events(want));
  return 0;
}

void TlsStream::send_file(int file_fd, uint64_t offset, uint64_t count, Deadline deadline,
                          IoContext& io, uint64_t& sent) {
  // sendfile(2) would put the file's plaintext on the wire: the bytes must pass through
  // OpenSSL to be encrypted, so they are read into memory first (one copy more than in
  // clear). Kernel TLS (SSL_sendfile) would avoid that copy; it is not used here.
  std::vector<std::byte> chunk(static_cast<size_t>(std::min<uint64_t>(count, kFileChunk)));
  while (count > 0) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(count, chunk.size()));
    ssize_t n = ::pread(file_fd, chunk.data(), want, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) {
      io.check_drain();
      continue;
    }
    if (n < 0) throw_errno("pread");
    if (n == 0) throw std::runtime_error("send_file: file ended early (truncated while sending?)");
    write_all(std::span(chunk).first(static_cast<size_t>(n)), deadline, io, sent);
    offset += static_cast<uint64_t>(n);
    count -= static_cast<uint64_t>(n);
  }
}

void TlsStream::close_notify() {
  if (broken_ || closed_) return;
  closed_ = true;
  // One try: the alert goes out if the socket has room. Waiting for the peer's own
  // close_notify would let a silent client hold the connection open.
  before_ssl_call();
  ossl::SSL_shutdown(ssl_.get());
  ossl::ERR_clear_error();
}

std::string TlsStream::peer_subject() const {
  X509* certificate = ossl::SSL_get0_peer_certificate(ssl_.get());
  if (certificate == nullptr) return {};
  std::unique_ptr<BIO, decltype(ossl::BIO_free)> bio(ossl::BIO_new(ossl::BIO_s_mem()),
                                                     ossl::BIO_free);
  if (!bio) return {};
  // RFC 2253: what `openssl x509 -noout -subject -nameopt RFC2253` prints, to copy into
  // --allow-subject.
  ossl::X509_NAME_print_ex(bio.get(), ossl::X509_get_subject_name(certificate), 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  long size = ossl::BIO_get_mem_data(bio.get(), &data);
  return size > 0 ? std::string(data, static_cast<size_t>(size)) : std::string();
}

std::string TlsStream::description() const {
  std::string text = std::string(ossl::SSL_get_version(ssl_.get())) + " " +
                     ossl::SSL_CIPHER_get_name(ossl::SSL_get_current_cipher(ssl_.get()));
  if (ossl::SSL_session_reused(ssl_.get()) == 1) text += " resumed";
  return text;
}

}  // namespace sockserv
