// UniqueFd: a move-only owner of one file descriptor.
//
// Every descriptor in sockserv lives in one of these, so none can leak on an early return or
// an exception, and none is closed twice. It is the C++ form of Python's `with socket(...)`.
#pragma once

#include <utility>

namespace sockserv {

class UniqueFd {
 public:
  UniqueFd() = default;
  /// Takes ownership of `fd` (which may be -1, meaning "none").
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  ~UniqueFd() { reset(); }

  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }

  /// The descriptor, still owned by this object (-1 when empty).
  int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }
  /// Gives up ownership without closing; the caller now owns the descriptor.
  int release() noexcept { return std::exchange(fd_, -1); }
  /// Closes the current descriptor (if any) and takes `fd` instead.
  void reset(int fd = -1) noexcept;

 private:
  int fd_ = -1;
};

/// A pipe whose both ends are close-on-exec; `nonblocking` applies to both ends.
struct Pipe {
  UniqueFd read_end;
  UniqueFd write_end;
};
Pipe make_pipe(bool nonblocking);

/// A second descriptor of what `fd` refers to, close-on-exec (F_DUPFD_CLOEXEC); empty, with
/// errno set, when the process is out of descriptors.
UniqueFd duplicate(int fd);

/// Sets or clears O_NONBLOCK on `fd`.
void set_nonblocking(int fd, bool on);

}  // namespace sockserv
