// The one place where EINTR, EAGAIN and partial reads and writes are dealt with.
#include "io.hpp"

#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "error.hpp"
#include "fd.hpp"

namespace sockserv {
// A blocking socket whose SO_RCVTIMEO/SO_SNDTIMEO ran out also lands here (EAGAIN): its
// deadline has passed too, so the wait ends at once with the timeout.
void wait_for(int fd, short events, Deadline deadline, IoContext& io, const char* what) {
  io.would_block(fd, events);  // every caller got EAGAIN just now
  pollfd entry{fd, events, 0};
  if (!io.wait(std::span(&entry, 1), deadline)) {
    throw TimeoutError(std::string(what) + ": timed out");
  }
}

Deadline Deadline::after(Millis delay) {
  return Deadline(Clock::now() + delay);
}

Deadline Deadline::after_or_never(Millis delay) {
  return delay.count() > 0 ? after(delay) : never();
}

int Deadline::poll_timeout() const {
  if (is_never()) return -1;
  auto left = when_ - Clock::now();
  if (left <= Clock::duration::zero()) return 0;
  // Round up, so that a wait never ends a little before its deadline and spins.
  auto ms = std::chrono::ceil<Millis>(left).count();
  return ms > 1'000'000 ? 1'000'000 : static_cast<int>(ms);
}

timeval to_timeval(Millis timeout) {
  return {static_cast<time_t>(timeout.count() / 1000),
          static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
}

bool set_socket_timeouts(int fd, Millis timeout) {
  timeval value = to_timeval(timeout);
  return ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &value, sizeof value) == 0 &&
         ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &value, sizeof value) == 0;
}

void IoContext::adopt_socket(int fd, Millis, SocketSetup already) {
  // Non-blocking, so that every wait goes through wait(), which knows the deadlines.
  if (!already.nonblocking) set_nonblocking(fd, true);
}

bool PollContext::wait(std::span<pollfd> fds, Deadline deadline) {
  for (;;) {
    for (pollfd& entry : fds) entry.revents = 0;
    int n = ::poll(fds.data(), fds.size(), deadline.poll_timeout());
    if (n > 0) return true;
    if (n == 0) {
      if (deadline.expired()) return false;
      continue;  // woke up a hair early: wait out the rest
    }
    // A signal arrived (SIGCHLD, SIGWINCH...): it is not our business, wait again with the
    // time that is left.
    if (errno != EINTR) throw_errno("poll");
  }
}

IoContext& client_io() {
  static PollContext context;  // stateless, so sharing it between threads is safe
  return context;
}

size_t read_some(int fd, std::span<std::byte> buffer, Deadline deadline, IoContext& io) {
  // An event loop that knows the queue is empty waits first: a read(2) now would say EAGAIN.
  // (A request-response client sends nothing until it has our reply: after one read of its
  // request, the next read would always find nothing, one system call per round trip.)
  if (!io.may_read(fd)) wait_for(fd, POLLIN, deadline, io, "read");
  for (;;) {
    ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n > 0 && static_cast<size_t>(n) < buffer.size()) io.read_was_short(fd);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno == EINTR) {
      io.check_drain();  // the signal may have been the server's "drain time is over"
      continue;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK) throw_errno("read");
    // Nothing to read yet (or a blocking socket's timeout ran out): wait, then try again.
    wait_for(fd, POLLIN, deadline, io, "read");
  }
}

size_t receive_some(int fd, std::span<std::byte> buffer, int flags, Deadline deadline,
                    IoContext& io) {
  for (;;) {
    // MSG_DONTWAIT: even on a blocking socket, do not sleep in recv; wait in io instead,
    // where the deadline holds.
    ssize_t n = ::recv(fd, buffer.data(), buffer.size(), flags | MSG_DONTWAIT);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno == EINTR) {
      io.check_drain();
      continue;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK) throw_errno("recv");
    wait_for(fd, POLLIN, deadline, io, "recv");
  }
}

size_t read_full(int fd, std::span<std::byte> buffer, Deadline deadline, IoContext& io) {
  size_t done = 0;
  while (done < buffer.size()) {
    size_t n = read_some(fd, buffer.subspan(done), deadline, io);
    if (n == 0) break;  // end of file
    done += n;
  }
  return done;
}

size_t write_some(int fd, std::span<const std::byte> data) {
  for (;;) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n >= 0) return static_cast<size_t>(n);
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
    throw_errno("write");
  }
}

void write_all(int fd, std::span<const std::byte> data, Deadline deadline, IoContext& io) {
  uint64_t sent = 0;
  write_all(fd, data, deadline, io, sent);
}

void write_all(int fd, std::span<const std::byte> data, Deadline deadline, IoContext& io,
               uint64_t& sent) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n >= 0) {
      // A partial write: the socket buffer took only part of it. Send the rest next.
      data = data.subspan(static_cast<size_t>(n));
      sent += static_cast<uint64_t>(n);
      continue;
    }
    if (errno == EINTR) {
      io.check_drain();
      continue;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK) throw_errno("write");
    wait_for(fd, POLLOUT, deadline, io, "write");
  }
}

void write_all(int fd, std::string_view text, Deadline deadline, IoContext& io) {
  write_all(fd, as_bytes(text), deadline, io);
}

void send_file(int out_fd, int file_fd, uint64_t offset, uint64_t count, Deadline deadline,
               IoContext& io) {
  uint64_t sent = 0;
  send_file(out_fd, file_fd, offset, count, deadline, io, sent);
}

void send_file(int out_fd, int file_fd, uint64_t offset, uint64_t count, Deadline deadline,
               IoContext& io, uint64_t& sent) {
  off_t position = static_cast<off_t>(offset);
  while (count > 0) {
    // sendfile moves at most ~2 GiB per call; larger files simply take more calls.
    size_t chunk = count > (1u << 30) ? (1u << 30) : static_cast<size_t>(count);
    ssize_t n = ::sendfile(out_fd, file_fd, &position, chunk);
    if (n > 0) {
      count -= static_cast<uint64_t>(n);
      sent += static_cast<uint64_t>(n);
      continue;
    }
    if (n == 0) throw std::runtime_error("sendfile: file ended early (truncated while sending?)");
    if (errno == EINTR) {
      io.check_drain();
      continue;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK) throw_errno("sendfile");
    wait_for(out_fd, POLLOUT, deadline, io, "sendfile");
  }
}

}  // namespace sockserv
