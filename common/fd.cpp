// UniqueFd and the two small descriptor helpers that go with it.
#include "fd.hpp"

#include <fcntl.h>
#include <unistd.h>

#include "error.hpp"

namespace sockserv {

void UniqueFd::reset(int fd) noexcept {
  // close(2) is not retried on EINTR: on Linux the descriptor is already gone when it
  // returns, and retrying could close a descriptor another thread has just been given.
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

Pipe make_pipe(bool nonblocking) {
  int fds[2];
  int flags = O_CLOEXEC | (nonblocking ? O_NONBLOCK : 0);
  if (::pipe2(fds, flags) < 0) throw_errno("pipe2");
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

UniqueFd duplicate(int fd) {
  // The lowest free number at or above 0, like dup(2), but close-on-exec from the start.
  return UniqueFd(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
}

void set_nonblocking(int fd, bool on) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0) throw_errno("fcntl F_GETFL");
  int wanted = on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
  if (wanted != flags && ::fcntl(fd, F_SETFL, wanted) < 0) throw_errno("fcntl F_SETFL");
}

}  // namespace sockserv
