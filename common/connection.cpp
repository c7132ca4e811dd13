// The connection object handlers use: buffered reading, full writes, waits with deadlines.
#include "connection.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sstream>

#include "error.hpp"
#include "log.hpp"
#include "tls_server.hpp"
#include "tls_stream.hpp"

namespace sockserv {
namespace {
constexpr size_t kReadChunk = 16 * 1024;

std::string seconds_text(Millis duration) {
  std::ostringstream text;
  text << duration.count() / 1000.0 << " s";
  return text.str();
}
}  // namespace

Connection::Connection(UniqueFd socket, SocketAddress peer, IoContext& io,
                       ConnectionTimeouts timeouts, SocketSetup already)
    : socket_(std::move(socket)),
      peer_(peer),
      io_(io),
      idle_timeout_(timeouts.idle),
      message_timeout_(timeouts.message),
      receive_timeout_(timeouts.idle) {
  io_.adopt_socket(socket_.get(), idle_timeout_, already);
}

Connection::~Connection() {
  if (socket_) io_.release_socket(socket_.get());
}

void Connection::set_idle_timeout(Millis timeout) {
  idle_timeout_ = timeout;
  receive_timeout_ = timeout;
  // A blocking socket's timeouts change too.
  io_.adopt_socket(socket_.get(), idle_timeout_, SocketSetup{});
}

void Connection::begin_message(const char* what) {
  start_message(what, /*from_framing=*/true);
}

void Connection::start_message(const char* what, bool from_framing) {
  if (!in_message_) io_.set_idle(socket_.get(), false);
  in_message_ = true;
  framed_ = from_framing;
  message_what_ = what;
  message_deadline_ = Deadline::after_or_never(message_timeout_);
  stream_bytes_ = 0;
}

void Connection::end_message() {
  if (!in_message_) return;
  in_message_ = false;
  framed_ = false;
  io_.set_idle(socket_.get(), true);
}

// A raw stream (echo, discard) has no messages of its own: a line counts as one, or
// kMessagePiece bytes of a longer one, so a client that trickles bytes is cut like one that
// trickles a line, while a fast binary stream is not. Framed reads mark their own messages.
void Connection::track_stream(std::span<const std::byte> data) {
  if (framed_ || data.empty()) return;
  auto last_newline = std::find(data.rbegin(), data.rend(), std::byte{'\n'});
  if (last_newline != data.rend()) {
    size_t after = static_cast<size_t>(last_newline - data.rbegin());
    if (after == 0) {
      end_message();  // the data ends with a whole line: waiting for the next one is idle
      return;
    }
    start_message("line", false);
    stream_bytes_ = after;
    return;
  }
  if (!in_message_) start_message("line", false);
  stream_bytes_ += data.size();
  if (stream_bytes_ >= kMessagePiece) start_message("line", false);  // a piece: the next one
}

// The idle deadline, or the message's when a message is open; a blocking socket gets a
// receive timeout that wakes its read(2) no later than that.
Deadline Connection::read_deadline() {
  Deadline deadline = idle_deadline();
  if (in_message_) deadline = deadline.earlier(message_deadline_);
  Millis wanted = idle_timeout_;
  if (in_message_ && !message_deadline_.is_never()) {
    if (message_deadline_.expired()) throw_timeout(TimeoutError("read: timed out"));
    Millis left(std::max(1, deadline.poll_timeout()));
    // SO_RCVTIMEO counts afresh at each read(2), the message's deadline does not: the
    // timeout must never be longer than the time left, or a silent client would be caught
    // late. Setting it to the time left before every read would cost a setsockopt(2) per
    // read (the time left changes every millisecond: 0.55 per echo round trip, prethread at
    // C = 64, measured with perf stat).
    // Half the time left stays short enough until that half has passed, so it is set again
    // only a few times per message. Waking early is harmless: read_some then finds the
    // deadline not passed and waits for the rest with poll.
    bool forever = receive_timeout_.count() == 0;  // --idle-timeout 0: no receive timeout
    if (!forever && receive_timeout_ <= left) return deadline;
    wanted = std::max(Millis(1), left / 2);  // SO_RCVTIMEO 0 would mean forever
  }
  if (wanted != receive_timeout_) {
    io_.set_receive_timeout(socket_.get(), wanted);
    receive_timeout_ = wanted;
  }
  return deadline;
}

// Which limit ran out: the message's (a slowloris client, logged as a warning) or the idle.
void Connection::throw_timeout(const TimeoutError& e) const {
  if (in_message_ && message_deadline_.expired()) {
    throw MessageTimeout("message deadline: " + std::string(message_what_) + " not complete " +
                         seconds_text(message_timeout_) +
                         " after its first byte (--message-timeout)");
  }
  throw TimeoutError(std::string(e.what()) + " after " + seconds_text(idle_timeout_) +
                     " of silence (--idle-timeout)");
}

size_t Connection::read_socket(std::span<std::byte> buffer) {
  size_t n = 0;
  try {
    Deadline deadline = read_deadline();
    n = tls_ ? tls_->read(buffer, deadline, io_)
             : sockserv::read_some(socket_.get(), buffer, deadline, io_);
  } catch (const MessageTimeout&) {
    throw;
  } catch (const TimeoutError& e) {
    throw_timeout(e);
  }
  bytes_in_ += n;
  if (n == 0) {
    // A socket shut down because the drain time is over reads as end of file: say why.
    io_.check_drain();
    if (io_.stopping()) {
      // Shut for reading while idle because the server is stopping (drain.hpp).
      if (!in_message_) log_info(peer_name(), ": server stopping: idle connection closed");
    } else if (!tls_ && !buffer.empty()) {
      peer_finished_ = true;  // the client's FIN: nothing more can arrive after it
    }
  }
  return n;
}

size_t Connection::read_some(std::span<std::byte> buffer) {
  size_t buffered = buffer_.size() - buffer_start_;
  if (buffered > 0) {
    // Bytes that read_line read ahead come first, or they would be lost.
    size_t n = std::min(buffered, buffer.size());
    std::memcpy(buffer.data(), buffer_.data() + buffer_start_, n);
    buffer_start_ += n;
    scanned_ = 0;  // taken as bytes, not as a line: the next line search starts afresh
    too_long_ = false;
    return n;
  }
  size_t n = read_socket(buffer);
  track_stream(buffer.first(n));
  return n;
}

std::optional<size_t> Connection::try_read_some(std::span<std::byte> buffer) {
  if (buffer_.size() > buffer_start_) return read_some(buffer);  // read-ahead bytes come first
  if (tls_) {
    std::optional<size_t> got = tls_->try_read(buffer, io_);
    if (got) bytes_in_ += *got;
    return got;
  }
  // MSG_DONTWAIT: this one call never waits, whatever the socket's blocking mode.
  ssize_t got = ::recv(socket_.get(), buffer.data(), buffer.size(), MSG_DONTWAIT);
  if (got < 0 && errno == EINTR) return std::nullopt;
  if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    io_.would_block(socket_.get(), POLLIN);
    return std::nullopt;
  }
  if (got < 0) throw_errno("recv");
  bytes_in_ += static_cast<uint64_t>(got);
  return static_cast<size_t>(got);
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

// Appends what the client sent to the read-ahead buffer: waiting for it, or (wait = false)
// only what has already arrived. Returns the bytes added: 0 at end of file, or (no wait)
// when nothing was there; `eof_` tells the two apart.
size_t Connection::fill_buffer(bool wait) {
  if (buffer_start_ > 0) {
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(buffer_start_));
    buffer_start_ = 0;
  }
  size_t old_size = buffer_.size();
  buffer_.resize(old_size + kReadChunk);
  std::span<std::byte> room = std::span(buffer_).subspan(old_size);
  size_t n = 0;
  if (wait) {
    n = read_socket(room);
    eof_ = n == 0;
  } else if (tls_) {
    std::optional<size_t> got = tls_->try_read(room, io_);
    n = got.value_or(0);
    bytes_in_ += n;
    eof_ = got == size_t{0};
  } else {
    // MSG_DONTWAIT: this one call never waits, whatever the socket's blocking mode.
    ssize_t got = ::recv(socket_.get(), room.data(), room.size(), MSG_DONTWAIT);
    if (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) throw_errno("recv");
    if (got < 0 && errno != EINTR) io_.would_block(socket_.get(), POLLIN);
    n = got > 0 ? static_cast<size_t>(got) : 0;
    bytes_in_ += n;
    eof_ = got == 0;
  }
  buffer_.resize(old_size + n);
  return n;
}

// A whole line from the buffer, if there is one (or, at end of file, the last bytes).
std::optional<Line> Connection::take_line(size_t max_bytes) {
  auto begin = buffer_.begin() + static_cast<std::ptrdiff_t>(buffer_start_);
  auto newline =
      std::find(begin + static_cast<std::ptrdiff_t>(scanned_), buffer_.end(), std::byte{'\n'});
  bool at_eof = eof_ && newline == buffer_.end();
  if (newline == buffer_.end() && !at_eof) {
    scanned_ = buffer_.size() - buffer_start_;
    if (scanned_ > max_bytes + 1) {
      // Over the limit with no end in sight: drop what we have so memory stays bounded,
      // keep reading until the newline, then report the line as too long.
      too_long_ = true;
      buffer_.clear();
      buffer_start_ = 0;
      scanned_ = 0;
    }
    return std::nullopt;
  }
  size_t length = static_cast<size_t>(newline - begin);
  if (at_eof && length == 0 && !too_long_) return Line{Line::Status::eof, {}};
  std::string text(reinterpret_cast<const char*>(buffer_.data() + buffer_start_), length);
  buffer_start_ += at_eof ? length : length + 1;
  if (!at_eof && !text.empty() && text.back() == '\r') text.pop_back();
  bool too_long = too_long_ || text.size() > max_bytes;
  too_long_ = false;
  scanned_ = 0;
  if (too_long) return Line{Line::Status::too_long, {}};
  return Line{Line::Status::ok, std::move(text)};  // at EOF, a last line without "\n" counts
}

// A line was handed out: its message is over (the next one begins when its bytes wait).
void Connection::line_taken() {
  end_message();
}

// Part of a line is here and the rest must be waited for: its message has begun.
void Connection::line_pending() {
  if (partial_line() && !in_message_) start_message("line", true);
}

Line Connection::read_line(size_t max_bytes) {
  for (;;) {
    if (std::optional<Line> line = take_line(max_bytes)) {
      line_taken();
      return *line;
    }
    line_pending();
    fill_buffer(/*wait=*/true);
  }
}

Line Connection::try_read_line(size_t max_bytes) {
  std::optional<Line> line = take_line(max_bytes);
  if (!line && (fill_buffer(/*wait=*/false) > 0 || eof_)) line = take_line(max_bytes);
  if (line) {
    line_taken();
    return *line;
  }
  line_pending();
  return Line{Line::Status::incomplete, {}};
}

void Connection::write_all(std::span<const std::byte> data) {
  if (tls_) return tls_->write_all(data, idle_deadline(), io_, bytes_out_);
  sockserv::write_all(socket_.get(), data, idle_deadline(), io_, bytes_out_);
}

void Connection::write_all(std::string_view text) {
  write_all(as_bytes(text));
}

void Connection::send_file(int file_fd, uint64_t offset, uint64_t count) {
  if (tls_) return tls_->send_file(file_fd, offset, count, idle_deadline(), io_, bytes_out_);
  sockserv::send_file(socket_.get(), file_fd, offset, count, idle_deadline(), io_, bytes_out_);
}

size_t Connection::write_some(std::span<const std::byte> data) {
  if (tls_) {
    size_t n = tls_->write_some(data, io_);
    bytes_out_ += n;
    return n;
  }
  for (;;) {
    // MSG_DONTWAIT: never wait here, even on a blocking socket; MSG_NOSIGNAL: no SIGPIPE.
    ssize_t n = ::send(socket_.get(), data.data(), data.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n >= 0) {
      bytes_out_ += static_cast<uint64_t>(n);
      return static_cast<size_t>(n);
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      io_.would_block(socket_.get(), POLLOUT);
      return 0;
    }
    throw_errno("send");
  }
}

void Connection::cork(bool on) {
  int value = on ? 1 : 0;
  if (::setsockopt(socket_.get(), IPPROTO_TCP, TCP_CORK, &value, sizeof value) < 0 &&
      errno != EOPNOTSUPP && errno != ENOPROTOOPT)
    throw_errno("setsockopt TCP_CORK");
}

Hub& Connection::hub() const {
  if (hub_ == nullptr) throw std::logic_error("this service runs without a hub");
  return *hub_;
}

void Connection::shutdown_write() {
  if (write_shut_) return;
  write_shut_ = true;
  // Over TLS, close_notify first: the client can tell our end from a cut connection.
  if (tls_) tls_->close_notify();
  // SHUT_WR sends FIN: the client's read returns EOF, yet it may still send to us.
  if (::shutdown(socket_.get(), SHUT_WR) < 0 && errno != ENOTCONN) throw_errno("shutdown");
}

Readiness Connection::wait_readable(std::span<const int> others, Deadline deadline) {
  return wait_ready(others, false, deadline);
}

Readiness Connection::wait_ready(std::span<const int> others, bool want_writable,
                                 Deadline deadline) {
  Readiness ready;
  // Read-ahead bytes not yet searched for a line end are news: no need to ask the kernel.
  // A half line already searched is not: waiting goes on (for its end, or for the others).
  // Nor are bytes that OpenSSL has already decrypted: the socket may have nothing left.
  if (buffer_.size() - buffer_start_ > scanned_ || (tls_ && tls_->has_buffered())) {
    ready.connection = true;
    return ready;
  }
  std::vector<pollfd> fds;
  fds.push_back({socket_.get(), static_cast<short>(POLLIN | (want_writable ? POLLOUT : 0)), 0});
  for (int fd : others) fds.push_back({fd, POLLIN, 0});
  // Half a line in hand: the rest must come by the message deadline, whatever the caller
  // allows for silence.
  if (in_message_) deadline = deadline.earlier(message_deadline_);
  if (!io_.wait(fds, deadline)) {
    if (in_message_ && message_deadline_.expired()) throw_timeout(TimeoutError("wait: timed out"));
    return ready;
  }
  // POLLHUP/POLLERR count as readable: the next read reports EOF or the error.
  ready.connection = (fds[0].revents & ~POLLOUT) != 0;
  ready.writable = (fds[0].revents & POLLOUT) != 0;
  for (size_t i = 1; i < fds.size(); ++i) {
    if (fds[i].revents != 0) ready.others.push_back(fds[i].fd);
  }
  return ready;
}

void Connection::accept_tls(TlsServer& tls) {
  // OpenSSL reads and writes the socket itself: it must never sleep in the kernel, or the
  // deadlines and the drain would not hold. Every wait is io_'s (a blocking model's socket
  // becomes non-blocking for this connection; the plain path keeps its blocking read).
  set_nonblocking(socket_.get(), true);
  // TLS writes whole records, and a handshake ends with small ones (session tickets) that
  // Nagle's algorithm would hold until the client's delayed ACK, 40 ms later: every TLS
  // connection gets TCP_NODELAY, as nginx gives its own. (Not a tcp socket: nothing to do.)
  int on = 1;
  if (::setsockopt(socket_.get(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) < 0 &&
      errno != EOPNOTSUPP && errno != ENOPROTOOPT)
    throw_errno("setsockopt TCP_NODELAY");
  auto stream = std::make_unique<TlsStream>(tls.new_session(), socket_.get());
  Millis timeout = tls.settings().handshake_timeout;
  try {
    stream->handshake(Deadline::after_or_never(timeout), io_);
  } catch (const TimeoutError&) {
    // A client that connects and sends nothing (or half a handshake) holds a slot: cut it.
    throw MessageTimeout("TLS handshake not complete " + seconds_text(timeout) +
                         " after it began (--tls-handshake-timeout)");
  }
  peer_subject_ = stream->peer_subject();
  tls_ = std::move(stream);
}

std::string Connection::tls_description() const {
  return tls_ ? tls_->description() : std::string();
}

void Connection::close_gracefully() {
  if (!socket_) return;
  // The client has sent its FIN and every byte before it was read: close(2) sends our FIN
  // and no RST (nothing is left unread), so shutting down and draining would be two
  // system calls for nothing. This is the common end of a connection.
  if (peer_finished_) {
    io_.release_socket(socket_.get());
    socket_.reset();
    return;
  }
  try {
    shutdown_write();
    // Closing a socket with unread input makes the kernel send RST, which can destroy the
    // reply still in flight to the client. Drop what has already arrived first.
    std::byte sink[4096];
    for (int i = 0; i < 64; ++i) {
      ssize_t n = ::recv(socket_.get(), sink, sizeof sink, MSG_DONTWAIT);
      if (n > 0) bytes_in_ += static_cast<uint64_t>(n);  // received, though nobody read them
      if (n <= 0 && !(n < 0 && errno == EINTR)) break;
    }
  } catch (const std::system_error&) {
    // The peer is already gone: nothing more to be polite about.
  }
  io_.release_socket(socket_.get());
  socket_.reset();
}

}  // namespace sockserv
