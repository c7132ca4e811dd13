// A client's connection, clear or TLS.
#include "client_stream.hpp"

#include <unistd.h>

#include <array>

#include "error.hpp"
#include "socket.hpp"

namespace sockserv {

ClientStream::ClientStream(UniqueFd socket, Millis timeout)
    : socket_(std::move(socket)), timeout_(timeout) {
  set_nonblocking(socket_.get(), true);  // every wait is a poll with a deadline
}

ClientStream::~ClientStream() {
  if (tls_) tls_->close_quietly();
}

void ClientStream::start_tls(const TlsClientContext& context, const std::string& host) {
  auto session = std::make_unique<TlsSession>(context, socket_.get(), host);
  session->handshake(next_deadline());
  tls_ = std::move(session);
}

size_t ClientStream::read_some(std::span<std::byte> buffer) {
  return read_some(buffer, next_deadline());
}

size_t ClientStream::read_some(std::span<std::byte> buffer, Deadline deadline) {
  if (tls_) return tls_->read_some(buffer, deadline);
  return sockserv::read_some(socket_.get(), buffer, deadline, client_io());
}

size_t ClientStream::read_full(std::span<std::byte> buffer, Deadline deadline) {
  size_t have = 0;
  while (have < buffer.size()) {
    size_t n = read_some(buffer.subspan(have), deadline);
    if (n == 0) break;
    have += n;
  }
  return have;
}

void ClientStream::write_all(std::span<const std::byte> data) {
  write_all(data, next_deadline());
}

void ClientStream::write_all(std::span<const std::byte> data, Deadline deadline) {
  if (tls_) return tls_->write_all(data, deadline);
  sockserv::write_all(socket_.get(), data, deadline, client_io());
}

void ClientStream::send_file(int file_fd, uint64_t offset, uint64_t count) {
  if (!tls_) {
    sockserv::send_file(socket_.get(), file_fd, offset, count, next_deadline(), client_io());
    return;
  }
  // TLS encrypts in this process, so the bytes must pass through it: pread and SSL_write
  // (kTLS would let the kernel encrypt a sendfile; the client does not use it).
  std::array<std::byte, 64 * 1024> buffer;
  while (count > 0) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(count, buffer.size()));
    ssize_t n = ::pread(file_fd, buffer.data(), want, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("pread");
    if (n == 0) throw std::runtime_error("the file is shorter than announced");
    tls_->write_all(std::span(buffer.data(), static_cast<size_t>(n)), next_deadline());
    offset += static_cast<uint64_t>(n);
    count -= static_cast<uint64_t>(n);
  }
}

std::string tls_name_of(const Endpoint& server) {
  return is_stream(server.transport) && server.path.empty() ? server.host : "";
}

std::unique_ptr<TlsClientContext> tls_context_for(const po::variables_map& values,
                                                  const Endpoint& server) {
  TlsClientSettings settings = tls_client_settings(values, values["tls"].as<bool>());
  if (settings.enabled && !is_stream(server.transport))
    throw UsageError("--tls needs a stream address (HOST:PORT or unix:PATH), not " +
                     to_string(server));
  return tls_context_for(settings);
}

ClientStream open_client_stream(const Endpoint& server, Millis timeout,
                                const TlsClientContext* context) {
  ClientStream stream(connect_to(server), timeout);
  if (context != nullptr) stream.start_tls(*context, tls_name_of(server));
  return stream;
}

}  // namespace sockserv
