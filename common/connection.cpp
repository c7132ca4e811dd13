// The connection object handlers use: buffered reading, full writes, waits with deadlines.
#include "connection.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "error.hpp"

namespace sockserv {
namespace {
constexpr size_t kReadChunk = 16 * 1024;
}

Connection::Connection(UniqueFd socket, SocketAddress peer, Waiter& waiter, Millis idle_timeout)
    : socket_(std::move(socket)),
      peer_(peer),
      waiter_(waiter),
      idle_timeout_(idle_timeout) {
  // Non-blocking, so that every wait goes through the waiter, which knows the deadlines and
  // (in an event loop) lets other connections run meanwhile. (Accepted sockets already are:
  // accept4 with SOCK_NONBLOCK. Sockets handed over by inetd are not.)
  set_nonblocking(socket_.get(), true);
}

size_t Connection::read_some(std::span<std::byte> buffer) {
  size_t buffered = buffer_.size() - buffer_start_;
  if (buffered > 0) {
    // Bytes that read_line read ahead come first, or they would be lost.
    size_t n = std::min(buffered, buffer.size());
    std::memcpy(buffer.data(), buffer_.data() + buffer_start_, n);
    buffer_start_ += n;
    return n;
  }
  return sockserv::read_some(socket_.get(), buffer, idle_deadline(), waiter_);
}

size_t Connection::read_full(std::span<std::byte> buffer) {
  size_t done = 0;
  while (done < buffer.size()) {
    size_t n = read_some(buffer.subspan(done));
    if (n == 0) break;
    done += n;
  }
  return done;
}

size_t Connection::fill_buffer() {
  if (buffer_start_ > 0) {
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(buffer_start_));
    buffer_start_ = 0;
  }
  size_t old_size = buffer_.size();
  buffer_.resize(old_size + kReadChunk);
  size_t n = sockserv::read_some(socket_.get(), std::span(buffer_).subspan(old_size),
                                 idle_deadline(), waiter_);
  buffer_.resize(old_size + n);
  return n;
}

Line Connection::read_line(size_t max_bytes) {
  bool too_long = false;
  size_t scanned = 0;  // bytes of the buffer already searched for '\n'
  for (;;) {
    auto begin = buffer_.begin() + static_cast<std::ptrdiff_t>(buffer_start_);
    auto newline = std::find(begin + static_cast<std::ptrdiff_t>(scanned), buffer_.end(), std::byte{'\n'});
    if (newline != buffer_.end()) {
      size_t length = static_cast<size_t>(newline - begin);
      std::string text(reinterpret_cast<const char*>(&*begin), length);
      buffer_start_ += length + 1;
      if (!text.empty() && text.back() == '\r') text.pop_back();
      if (too_long || text.size() > max_bytes) return {Line::Status::too_long, {}};
      return {Line::Status::ok, std::move(text)};
    }
    scanned = buffer_.size() - buffer_start_;
    if (scanned > max_bytes + 1) {
      // Over the limit with no end in sight: drop what we have so memory stays bounded,
      // keep reading until the newline, then report the line as too long.
      too_long = true;
      buffer_.clear();
      buffer_start_ = 0;
      scanned = 0;
    }
    if (fill_buffer() == 0) {
      // EOF. A last line without "\n" still counts as a line.
      size_t left = buffer_.size() - buffer_start_;
      if (left == 0 && !too_long) return {Line::Status::eof, {}};
      std::string text(reinterpret_cast<const char*>(buffer_.data() + buffer_start_), left);
      buffer_start_ = buffer_.size();
      if (too_long || text.size() > max_bytes) return {Line::Status::too_long, {}};
      return {Line::Status::ok, std::move(text)};
    }
  }
}

void Connection::write_all(std::span<const std::byte> data) {
  sockserv::write_all(socket_.get(), data, idle_deadline(), waiter_);
}

void Connection::write_all(std::string_view text) { write_all(as_bytes(text)); }

void Connection::send_file(int file_fd, uint64_t offset, uint64_t count) {
  sockserv::send_file(socket_.get(), file_fd, offset, count, idle_deadline(), waiter_);
}

void Connection::shutdown_write() {
  if (write_shut_) return;
  write_shut_ = true;
  // SHUT_WR sends FIN: the client's read returns EOF, yet it may still send to us.
  if (::shutdown(socket_.get(), SHUT_WR) < 0 && errno != ENOTCONN) throw_errno("shutdown");
}

Readiness Connection::wait_readable(std::span<const int> others, Deadline deadline) {
  Readiness ready;
  if (buffer_start_ < buffer_.size()) {
    ready.connection = true;  // read-ahead bytes are waiting: no need to ask the kernel
    return ready;
  }
  std::vector<pollfd> fds;
  fds.push_back({socket_.get(), POLLIN, 0});
  for (int fd : others) fds.push_back({fd, POLLIN, 0});
  if (!waiter_.wait(fds, deadline)) return ready;
  // POLLHUP/POLLERR count as readable: the next read reports EOF or the error.
  ready.connection = fds[0].revents != 0;
  for (size_t i = 1; i < fds.size(); ++i) {
    if (fds[i].revents != 0) ready.others.push_back(fds[i].fd);
  }
  return ready;
}

void Connection::close_gracefully() {
  if (!socket_) return;
  try {
    shutdown_write();
    // Closing a socket with unread input makes the kernel send RST, which can destroy the
    // reply still in flight to the client. Drop what has already arrived first.
    std::byte sink[4096];
    for (int i = 0; i < 64; ++i) {
      ssize_t n = ::recv(socket_.get(), sink, sizeof sink, MSG_DONTWAIT);
      if (n <= 0 && !(n < 0 && errno == EINTR)) break;
    }
  } catch (const std::system_error&) {
    // The peer is already gone: nothing more to be polite about.
  }
  socket_.reset();
}

}  // namespace sockserv
