// Name checks and openat2(RESOLVE_BENEATH) for serving one directory tree.
#include "beneath.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "error.hpp"

namespace sockserv {

std::string name_problem(std::string_view name) {
  if (name.empty()) return "invalid name";
  if (name.find('\0') != std::string_view::npos) return "invalid name";
  if (name.front() == '/') return "outside root";
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('/', start);
    if (end == std::string_view::npos) end = name.size();
    if (name.substr(start, end - start) == "..") return "outside root";
    start = end + 1;
  }
  return "";
}

UniqueFd open_beneath(int root, const std::string& name, int flags, int mode) {
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.mode = (flags & O_CREAT) != 0 ? static_cast<uint64_t>(mode) : 0;
  // RESOLVE_BENEATH: every step, symlinks and ".." included, must stay under `root`.
  // RESOLVE_NO_MAGICLINKS: no /proc/self/fd-style links, which jump anywhere.
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  for (;;) {
    // glibc 2.36 has no wrapper for openat2, hence syscall(2).
    long fd = ::syscall(SYS_openat2, root, name.c_str(), &how, sizeof how);
    if (fd >= 0) return UniqueFd(static_cast<int>(fd));
    if (errno != EINTR && errno != EAGAIN) throw_errno("openat2 " + name);
  }
}

std::string open_error_message(int err) {
  switch (err) {
    case ENOENT: case ENOTDIR: return "not found";
    case EXDEV: case ELOOP: return "outside root";
    case EACCES: case EPERM: return "permission denied";
    case EISDIR: return "not a regular file";
    default: return std::strerror(err);
  }
}

}  // namespace sockserv
