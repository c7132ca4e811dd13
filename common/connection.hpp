// Connection: what a stream handler talks to. The seam between services and models.
//
// A handler is written in blocking style, like a Python socketserver handler: read some,
// read a line, write all. It never touches the descriptor itself: every read, write and wait
// goes through this object, which waits with the Waiter the concurrency model gave it (a
// blocking poll in the iterative, fork and thread models). So one handler runs unchanged
// under every model.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "address.hpp"
#include "fd.hpp"
#include "io.hpp"

namespace sockserv {

/// The outcome of read_line.
struct Line {
  enum class Status { ok, too_long, eof };
  Status status = Status::eof;
  std::string text;  // without the "\n" or "\r\n"
};

/// What wait_readable found ready.
struct Readiness {
  bool connection = false;      // the client sent something (or closed)
  std::vector<int> others;      // which of the other descriptors are readable
  bool any() const { return connection || !others.empty(); }
};

class Connection {
 public:
  /// Takes the accepted socket (made non-blocking here) and its peer's address.
  /// `idle_timeout` bounds every wait for the client (0: no bound).
  Connection(UniqueFd socket, SocketAddress peer, Waiter& waiter, Millis idle_timeout);

  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// Reads what the client has sent, at least one byte; 0 means the client closed.
  size_t read_some(std::span<std::byte> buffer);
  /// Fills `buffer` completely; returns fewer bytes only if the client closed first.
  size_t read_full(std::span<std::byte> buffer);
  /// Reads one line of at most `max_bytes` (terminator excluded). A longer line is read to its
  /// end and discarded, and reported as too_long; the connection stays usable.
  Line read_line(size_t max_bytes);

  /// Sends every byte (the kernel may take them in several pieces).
  void write_all(std::span<const std::byte> data);
  void write_all(std::string_view text);
  /// Sends `count` bytes of an open file from `offset`, with sendfile(2).
  void send_file(int file_fd, uint64_t offset, uint64_t count);
  /// Half-close: tell the client we will send nothing more (it reads EOF); we can still read.
  void shutdown_write();

  /// Waits until the client or one of `others` (pipes, other sockets) is readable, or the
  /// deadline passes (then nothing is ready). The idle timeout does not apply here.
  Readiness wait_readable(std::span<const int> others, Deadline deadline);
  Readiness wait_readable(std::initializer_list<int> others, Deadline deadline) {
    return wait_readable(std::span<const int>(others.begin(), others.size()), deadline);
  }

  /// The client's address, numeric ("127.0.0.1:40312", "unix:/path").
  const SocketAddress& peer() const { return peer_; }
  std::string peer_name() const { return to_string(peer_); }
  /// The waiter this connection uses; handlers pass it on to helpers that wait on pipes.
  Waiter& waiter() { return waiter_; }
  /// Changes the bound on each wait for the client (0: none).
  void set_idle_timeout(Millis timeout) { idle_timeout_ = timeout; }
  Deadline idle_deadline() const { return Deadline::after_or_never(idle_timeout_); }

  /// Ends the connection politely: half-close, drop what the client still sends, close.
  /// Called by the server after the handler's finish(); handlers need not call it.
  void close_gracefully();

 private:
  size_t fill_buffer();

  UniqueFd socket_;
  SocketAddress peer_;
  Waiter& waiter_;
  Millis idle_timeout_;
  std::vector<std::byte> buffer_;  // bytes read ahead by read_line, not yet handed out
  size_t buffer_start_ = 0;
  bool write_shut_ = false;
};

}  // namespace sockserv
