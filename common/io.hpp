// Full reads and writes over descriptors, with EINTR, partial transfers and deadlines
// handled here and nowhere else.
//
// A short read or write is normal for sockets (the kernel moves what fits), and so is a
// signal interrupting a call (EINTR). These helpers loop until the job is done, the peer
// goes away, or the deadline passes. How they *wait* is an IoContext, which the caller always
// names: a poll(2), a blocking call, or a coroutine that yields to an event loop.
#pragma once

#include <poll.h>
#include <sys/time.h>
#include <sys/types.h>

#include <boost/container/small_vector.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string_view>
#include <type_traits>

namespace sockserv {

using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;
/// The descriptors of one poll(2) in a server's main loop. The first 16 are kept inside the
/// object (on the stack), not on the heap: under --model fork every heap page the parent
/// writes after a fork() costs a copy-on-write fault, about 10 µs here, and poll(2) writes
/// `revents` back on every pass.
using PollSet = boost::container::small_vector<pollfd, 16>;

/// A point in time by which an operation must finish (or never).
class Deadline {
 public:
  static Deadline never() { return Deadline(Clock::time_point::max()); }
  static Deadline after(Millis delay);
  static Deadline at(Clock::time_point when) { return Deadline(when); }
  /// `after(delay)`, or never() when delay is zero: the "0 disables" convention of options.
  static Deadline after_or_never(Millis delay);

  bool is_never() const { return when_ == Clock::time_point::max(); }
  bool expired() const { return !is_never() && Clock::now() >= when_; }
  /// Milliseconds left, rounded up, for poll(2): -1 means wait forever.
  int poll_timeout() const;
  Clock::time_point when() const { return when_; }
  Deadline earlier(Deadline other) const { return when_ < other.when_ ? *this : other; }

 private:
  explicit Deadline(Clock::time_point when) : when_(when) {}
  Clock::time_point when_;
};

/// `timeout` as SO_RCVTIMEO and SO_SNDTIMEO take it (0: no timeout).
timeval to_timeval(Millis timeout);
/// Sets both SO_RCVTIMEO and SO_SNDTIMEO of `fd` to `timeout`; false (errno set) if either
/// fails.
bool set_socket_timeouts(int fd, Millis timeout);

/// What an accepted socket already has when a context adopts it. The acceptor knows, and
/// each thing it knows saves a system call per connection (SocketSetup{}: nothing known).
struct SocketSetup {
  bool nonblocking = false;        // accept4 gave it SOCK_NONBLOCK
  std::optional<Millis> timeouts;  // its SO_RCVTIMEO and SO_SNDTIMEO, copied from the listener
};

/// How a connection's blocking-style calls wait: the concurrency model's choice (see
/// io_contexts.hpp). A handler reads and writes as if it blocked; the context decides what
/// "blocking" means: a poll(2), a blocking system call with a socket timeout, or a coroutine
/// that yields to its event loop. There is no default context: every call names one.
class IoContext {
 public:
  virtual ~IoContext() = default;
  /// Waits until at least one of `fds` is ready (revents set) and returns true, or returns
  /// false when the deadline passes. Throws DrainDeadlinePassed when the server is stopping
  /// and its drain time is over.
  virtual bool wait(std::span<pollfd> fds, Deadline deadline) = 0;
  /// Throws DrainDeadlinePassed if the drain time is over (checked after EINTR and EOF, where
  /// a blocking call may have been interrupted for that reason).
  virtual void check_drain() {}
  /// Runs `work`, which may block (hashing a file, listing a directory): right here, or on a
  /// helper thread while an event loop serves other connections meanwhile.
  virtual void offload(const std::function<void()>& work) { work(); }
  /// Prepares a connection's socket for this context: non-blocking (the context waits with
  /// wait()), or blocking with `idle_timeout` as SO_RCVTIMEO/SO_SNDTIMEO. Sets only what
  /// `already` does not say the socket has.
  virtual void adopt_socket(int fd, Millis idle_timeout, SocketSetup already);
  /// False when a read(2) on `fd` would only say EAGAIN: a context that tracks readiness (an
  /// event loop) knows the socket's queue is empty until its loop reports new data. read_some
  /// then waits first and saves that read.
  virtual bool may_read(int fd) const {
    (void)fd;
    return true;
  }
  /// A read(2) on `fd` returned some bytes, fewer than asked: a stream socket's read takes all
  /// it holds, so its queue was empty at that instant (see FiberContext for the exception).
  virtual void read_was_short(int fd) { (void)fd; }
  /// The socket is about to be closed: forget it (before its number can be reused).
  virtual void release_socket(int fd) { (void)fd; }
  /// For a blocking socket: bound its next reads by `timeout` (SO_RCVTIMEO), so a read in
  /// the middle of a message wakes at the message's deadline. Contexts that wait with poll
  /// or epoll need nothing: their waits are given the deadline itself.
  virtual void set_receive_timeout(int fd, Millis timeout) {
    (void)fd;
    (void)timeout;
  }
  /// The connection on `fd` waits for the first byte of its next message (idle) or is in
  /// the middle of one (busy). A stopping server ends idle connections at once (see drain.hpp).
  virtual void set_idle(int fd, bool idle) {
    (void)fd;
    (void)idle;
  }
  /// True once the server has begun to stop (SIGTERM): new messages are no longer welcome.
  virtual bool stopping() const { return false; }
  /// A non-blocking call on `fd` just said EAGAIN for `events` (POLLIN or POLLOUT): a
  /// context that remembers readiness (edge-triggered epoll) forgets it here, so that its
  /// next wait() sleeps instead of reporting a stale "ready".
  virtual void would_block(int fd, short events) {
    (void)fd;
    (void)events;
  }
};

/// Runs `work` with io.offload and returns what it returns (a descriptor, a digest...);
/// its exceptions reach the caller. `work` must not wait through `io` itself.
template <typename Work>
auto offloaded(IoContext& io, Work work) -> decltype(work()) {
  using Result = decltype(work());
  if constexpr (std::is_void_v<Result>) {
    io.offload(work);
  } else {
    std::optional<Result> result;
    io.offload([&] { result.emplace(work()); });
    return std::move(*result);
  }
}

/// poll(2), retried after EINTR with the time that remains; sockets non-blocking.
class PollContext : public IoContext {
 public:
  bool wait(std::span<pollfd> fds, Deadline deadline) override;
};

/// The context of programs that are not servers (clients, tests): a plain PollContext.
IoContext& client_io();

/// After a call on `fd` said EAGAIN (or OpenSSL said WANT_READ/WANT_WRITE): waits with `io`
/// until `fd` is ready for `events` (POLLIN or POLLOUT), or throws TimeoutError ("what: timed
/// out") at the deadline.
void wait_for(int fd, short events, Deadline deadline, IoContext& io, const char* what);

/// Reads what is available (at least one byte); returns 0 at end of file.
/// Throws TimeoutError at the deadline, std::system_error on errors such as ECONNRESET.
size_t read_some(int fd, std::span<std::byte> buffer, Deadline deadline, IoContext& io);

/// recv(2) with `flags` (MSG_PEEK: look without taking) on a socket, blocking or not:
/// at least one byte, 0 at end of file, waiting with `io` until the deadline.
size_t receive_some(int fd, std::span<std::byte> buffer, int flags, Deadline deadline,
                    IoContext& io);

/// Reads until `buffer` is full or end of file; returns the bytes read (< size only at EOF).
size_t read_full(int fd, std::span<std::byte> buffer, Deadline deadline, IoContext& io);

/// Writes what a non-blocking `fd` takes right now, without waiting: the bytes written, 0
/// when it is full. For programs that keep their own queue and poll for POLLOUT.
size_t write_some(int fd, std::span<const std::byte> data);

/// Writes every byte, however many calls that takes. Throws on error or at the deadline.
void write_all(int fd, std::span<const std::byte> data, Deadline deadline, IoContext& io);
void write_all(int fd, std::string_view text, Deadline deadline, IoContext& io);
/// write_all that adds each byte the kernel takes to `sent` as it goes: a caller counting
/// traffic (the access log) knows how much went out even when a later write fails.
void write_all(int fd, std::span<const std::byte> data, Deadline deadline, IoContext& io,
               uint64_t& sent);

/// Copies `count` bytes of `file_fd` from `offset` to `out_fd` with sendfile(2): the kernel
/// moves the data, no copy passes through this process. Throws if the file is shorter.
void send_file(int out_fd, int file_fd, uint64_t offset, uint64_t count, Deadline deadline,
               IoContext& io);
/// send_file that adds each byte sent to `sent` as it goes (see write_all).
void send_file(int out_fd, int file_fd, uint64_t offset, uint64_t count, Deadline deadline,
               IoContext& io, uint64_t& sent);

/// The bytes of a string, for the span-taking functions.
inline std::span<const std::byte> as_bytes(std::string_view text) {
  return std::as_bytes(std::span(text.data(), text.size()));
}

}  // namespace sockserv
