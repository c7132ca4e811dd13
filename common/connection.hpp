// Connection: what a stream handler talks to. The seam between services and models.
//
// A handler is written in blocking style, like a Python socketserver handler: read some,
// read a line, write all. It never touches the descriptor itself: every read, write and wait
// goes through this object, which waits with the IoContext the concurrency model gave it (a
// blocking call, a poll, or a coroutine's yield to its event loop). So one handler runs
// unchanged under every model.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "address.hpp"
#include "error.hpp"
#include "fd.hpp"
#include "io.hpp"

namespace sockserv {

class AccessLog;
class Hub;
class TlsServer;
class TlsStream;

/// The outcome of read_line.
struct Line {
  enum class Status { ok, too_long, eof, incomplete };  // incomplete: try_read_line only
  Status status = Status::eof;
  std::string text;  // without the "\n" or "\r\n"
};

/// What wait_readable found ready.
struct Readiness {
  bool connection = false;  // the client sent something (or closed)
  bool writable = false;    // (wait_ready only) the client's socket can take more bytes
  std::vector<int> others;  // which of the other descriptors are readable
  bool any() const { return connection || writable || !others.empty(); }
};

/// A message's piece: a raw byte stream (echo, discard) counts a line, or this many bytes of
/// a longer one, as one message; a frame body is read in pieces of this size, each of which
/// must arrive within the message timeout (a minimum rate of 64 KiB per --message-timeout).
inline constexpr size_t kMessagePiece = 64 * 1024;

/// The time limits of a connection (0: none).
struct ConnectionTimeouts {
  Millis idle{0};     // silence between messages: a wait for the first byte of the next one
  Millis message{0};  // one whole message, from its first byte (--message-timeout)
};

class Connection {
 public:
  /// Takes the accepted socket and its peer's address, and prepares the socket for `io`
  /// (IoContext::adopt_socket; `already`: what the acceptor set on it). `timeouts.idle`
  /// bounds every wait for the client; `timeouts.message` the time from a message's first
  /// byte to its last (see begin_message).
  Connection(UniqueFd socket, SocketAddress peer, IoContext& io, ConnectionTimeouts timeouts,
             SocketSetup already);
  ~Connection();

  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// Reads what the client has sent, at least one byte; 0 means the client closed.
  size_t read_some(std::span<std::byte> buffer);
  /// read_some without waiting: what the client has already sent; nullopt when nothing is
  /// there yet, 0 when it has closed. After a wait_readable that said "readable", nullopt
  /// means the readiness was stale (an event loop remembers an edge until EAGAIN): wait again.
  std::optional<size_t> try_read_some(std::span<std::byte> buffer);
  /// Fills `buffer` completely; returns fewer bytes only if the client closed first.
  size_t read_full(std::span<std::byte> buffer);
  /// Reads one line of at most `max_bytes` (terminator excluded). A longer line is read to its
  /// end and discarded, and reported as too_long; the connection stays usable.
  Line read_line(size_t max_bytes);
  /// read_line without waiting: takes what the client has already sent and returns a line
  /// if a whole one is there, else `incomplete` (for handlers that wait on several things
  /// and must not get stuck on a client that has typed half a line).
  Line try_read_line(size_t max_bytes);

  /// Sends every byte (the kernel may take them in several pieces).
  void write_all(std::span<const std::byte> data);
  void write_all(std::string_view text);
  /// Sends `count` bytes of an open file from `offset`, with sendfile(2) (over TLS: read(2)
  /// and SSL_write, since the bytes must be encrypted on their way).
  void send_file(int file_fd, uint64_t offset, uint64_t count);
  /// Sends what the socket buffer takes right now, without waiting: returns the bytes sent
  /// (0 when the buffer is full). For handlers that keep their own bounded output queue.
  size_t write_some(std::span<const std::byte> data);
  /// TCP_CORK on (hold partial segments) or off (send what is held): a reply's head and the
  /// file that follows it leave in full packets instead of a small one first (nginx's
  /// tcp_nopush). A no-op on sockets that are not tcp.
  void cork(bool on);
  /// Half-close: tell the client we will send nothing more (it reads EOF); we can still read.
  void shutdown_write();

  /// Waits until the client or one of `others` (pipes, other sockets) is readable, or the
  /// deadline passes (then nothing is ready). The idle timeout does not apply here.
  Readiness wait_readable(std::span<const int> others, Deadline deadline);
  Readiness wait_readable(std::initializer_list<int> others, Deadline deadline) {
    return wait_readable(std::span<const int>(others.begin(), others.size()), deadline);
  }
  /// wait_readable, and also "the client can take more bytes" when `want_writable`: so a
  /// handler can write without blocking while it keeps listening to the client and others.
  Readiness wait_ready(std::span<const int> others, bool want_writable, Deadline deadline);
  Readiness wait_ready(std::initializer_list<int> others, bool want_writable, Deadline deadline) {
    return wait_ready(std::span<const int>(others.begin(), others.size()), want_writable, deadline);
  }

  /// The service's hub (messages between connections); throws std::logic_error when the
  /// service runs without one (see ServiceDefinition::uses_hub).
  Hub& hub() const;
  /// Set by the server before the handler runs.
  void set_hub(Hub* hub) { hub_ = hub; }
  /// The server's access log, for a service that writes a line per request (http-server);
  /// nullptr when there is no access log. Set by the server before the handler runs.
  AccessLog* access_log() const { return access_log_; }
  void set_access_log(AccessLog* log) { access_log_ = log; }

  /// The client's address, numeric ("127.0.0.1:40312", "unix:/path").
  const SocketAddress& peer() const { return peer_; }
  std::string peer_name() const { return to_string(peer_); }
  /// The context this connection waits with; handlers pass it on to helpers that wait on
  /// pipes or offload blocking work.
  IoContext& io() { return io_; }
  /// Changes the bound on each wait for the client (0: none).
  void set_idle_timeout(Millis timeout);
  Deadline idle_deadline() const { return Deadline::after_or_never(idle_timeout_); }

  /// Bytes received from the client and sent to it so far (the access log's in= and out=);
  /// over TLS, the bytes the handler read and wrote (before encryption).
  uint64_t bytes_in() const { return bytes_in_; }
  uint64_t bytes_out() const { return bytes_out_; }
  /// Message deadlines (slowloris): once the first byte of a message has arrived, the whole
  /// message must arrive within the message timeout, however it trickles in; the idle
  /// timeout only bounds the silence between messages. read_line and try_read_line mark
  /// lines themselves, read_some marks a raw stream's lines (or kMessagePiece bytes), and the
  /// framing marks frame headers and body pieces with these two calls. `what` names the
  /// message in the log ("frame header"); a message begun while one is open starts afresh.
  void begin_message(const char* what);
  void end_message();
  /// True while a message has begun and not ended: the connection is busy, not idle.
  bool in_message() const { return in_message_; }

  /// Ends the connection politely: half-close, drop what the client still sends, close.
  /// Called by the server after the handler's finish(); handlers need not call it. Over
  /// TLS, close_notify goes first, so the client knows the stream was not cut short.
  void close_gracefully();

  /// Turns TLS on (server side): runs the handshake with a session of `tls`, bounded by its
  /// --tls-handshake-timeout; from then on every read, write and wait goes through TLS.
  /// Called by the server before the handler runs. Throws TlsHandshakeError (not TLS, no
  /// or a refused certificate) or MessageTimeout (the client stalled).
  void accept_tls(TlsServer& tls);
  /// True once accept_tls succeeded.
  bool tls() const { return tls_ != nullptr; }
  /// The client certificate's subject in RFC 2253 form ("O=Example,CN=alice"), as the
  /// client's certificate has it (escape it before logging: client_text); "" without TLS or
  /// without a client certificate (no --tls-client-ca).
  const std::string& peer_subject() const { return peer_subject_; }
  /// "TLSv1.3 TLS_AES_256_GCM_SHA384" ("" without TLS).
  std::string tls_description() const;

 private:
  size_t fill_buffer(bool wait);
  std::optional<Line> take_line(size_t max_bytes);
  size_t read_socket(std::span<std::byte> buffer);
  Deadline read_deadline();
  [[noreturn]] void throw_timeout(const TimeoutError& e) const;
  void start_message(const char* what, bool from_framing);
  void track_stream(std::span<const std::byte> data);
  bool partial_line() const { return buffer_.size() > buffer_start_ || too_long_; }
  void line_taken();
  void line_pending();

  UniqueFd socket_;
  SocketAddress peer_;
  IoContext& io_;
  Millis idle_timeout_;
  Millis message_timeout_;
  Millis receive_timeout_;  // what the socket's SO_RCVTIMEO is now (blocking contexts)
  bool in_message_ = false;
  bool framed_ = false;            // the message was begun by the framing, not by read_some
  const char* message_what_ = "";  // "line", "frame header"...
  Deadline message_deadline_ = Deadline::never();
  size_t stream_bytes_ = 0;        // bytes of the raw-stream message so far
  std::vector<std::byte> buffer_;  // bytes read ahead by read_line, not yet handed out
  size_t buffer_start_ = 0;
  bool write_shut_ = false;
  bool eof_ = false;            // the client has closed its side
  bool peer_finished_ = false;  // a read met the client's FIN (not our own SHUT_RD, not TLS)
  bool too_long_ = false;       // the line being read is over the limit: skip to its end
  size_t scanned_ = 0;          // bytes of the buffer already searched for '\n'
  Hub* hub_ = nullptr;
  AccessLog* access_log_ = nullptr;
  uint64_t bytes_in_ = 0;   // every byte read from the socket, whether a handler took it or not
  uint64_t bytes_out_ = 0;  // every byte the kernel accepted for sending
  // Null in clear: then every call goes to the socket directly, as if TLS did not exist.
  std::unique_ptr<TlsStream> tls_;
  std::string peer_subject_;
};

}  // namespace sockserv
