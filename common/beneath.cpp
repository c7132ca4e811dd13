// Name checks and openat2(RESOLVE_BENEATH) for serving one directory tree.
#include "beneath.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "error.hpp"
#include "escape.hpp"
#include "log.hpp"
#include "staging.hpp"

namespace sockserv {

std::string name_problem(std::string_view name) {
  if (name.empty()) return "invalid name";
  if (name.find('\0') != std::string_view::npos) return "invalid name";
  if (name.front() == '/') return "outside root";
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('/', start);
    if (end == std::string_view::npos) end = name.size();
    std::string_view component = name.substr(start, end - start);
    if (component == "..") return "outside root";
    if (is_reserved_name(component)) return "reserved name";
    start = end + 1;
  }
  return "";
}

UniqueFd open_by_components(int root, const std::string& name, int flags, int mode) {
  UniqueFd dir;  // the directory reached so far; empty: still `root`
  size_t start = 0;
  for (;;) {
    size_t slash = name.find('/', start);
    bool last = slash == std::string::npos;
    std::string part = name.substr(start, last ? std::string::npos : slash - start);
    if (part.empty()) part = ".";
    if (part == "..") throw std::system_error(EXDEV, std::generic_category(), "open " + name);
    int at = dir ? dir.get() : root;
    // O_NOFOLLOW on every step: a symlink anywhere in the name is refused (ELOOP, or ENOTDIR
    // for a directory step), so no step can leave the tree, whatever the link points to.
    int step_flags =
        last ? flags | O_NOFOLLOW | O_CLOEXEC : O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    int fd;
    do {
      fd = ::openat(at, part.c_str(), step_flags, static_cast<mode_t>(mode));
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) throw_errno("openat " + name);
    if (last) return UniqueFd(fd);
    dir.reset(fd);
    start = slash + 1;
  }
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
    // systemd's RestrictSUIDSGID= (which DynamicUser= implies, as in the shipped units)
    // refuses openat2 with ENOSYS: its seccomp filter cannot see the mode in open_how.
    if (errno == ENOSYS) return open_by_components(root, name, flags, mode);
    if (errno != EINTR && errno != EAGAIN) throw_errno("openat2 " + name);
  }
}

std::string open_error_message(int err) {
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return "not found";
    case EXDEV:
    case ELOOP:
      return "outside root";
    case EACCES:
    case EPERM:
      return "permission denied";
    case EISDIR:
      return "not a regular file";
    default:
      return std::strerror(err);
  }
}

ServedTree::ServedTree(const std::string& root)
    : root_(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC)) {
  if (!root_) throw_errno("open " + root);
}

UniqueFd ServedTree::open(const std::string& name, int flags, const std::string& peer) const {
  std::string problem = name_problem(name);
  if (problem.empty()) {
    try {
      return open_beneath(root_.get(), name, flags);
    } catch (const std::system_error& e) {
      problem = open_error_message(e.code().value());
    }
  }
  refuse(name, problem, peer);
}

std::pair<UniqueFd, std::string> ServedTree::open_parent(const std::string& name,
                                                         const std::string& peer) const {
  size_t slash = name.rfind('/');
  std::string base = slash == std::string::npos ? name : name.substr(slash + 1);
  std::string problem = name_problem(name);
  if (problem.empty() && (base.empty() || base == ".")) problem = "invalid name";
  if (!problem.empty()) refuse(name, problem, peer);
  std::string dir = slash == std::string::npos ? "." : name.substr(0, slash);
  return {open(dir, O_RDONLY | O_DIRECTORY, peer), base};
}

std::unique_ptr<StagedFile> ServedTree::stage(const std::string& name, uint64_t length,
                                              bool overwrite, const std::string& peer) const {
  auto [dir, base] = open_parent(name, peer);
  struct stat st {};
  if (!overwrite && ::fstatat(dir.get(), base.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0)
    throw Refusal("exists");  // checked early; commit() checks again, atomically
  check_room(dir.get(), length);
  try {
    return std::make_unique<StagedFile>(root_.get(), std::move(dir), base);
  } catch (const std::system_error& e) {
    throw Refusal("cannot create: " + e.code().message());
  }
}

void ServedTree::refuse(const std::string& name, const std::string& problem,
                        const std::string& peer) {
  if (problem == "outside root" || problem == "invalid name" || problem == "reserved name") {
    // Escaped, so that a name with a newline or NUL cannot forge or cut a log line.
    log_warning(peer, ": refused name \"", client_text(name), "\": ", problem);
  }
  throw Refusal(problem);
}

std::vector<DirEntry> list_directory(int dir) {
  // fdopendir takes over the descriptor it is given, so give it a copy.
  std::unique_ptr<DIR, int (*)(DIR*)> stream(::fdopendir(::fcntl(dir, F_DUPFD_CLOEXEC, 0)),
                                             ::closedir);
  if (!stream) throw_errno("fdopendir");
  std::vector<DirEntry> entries;
  while (const dirent* d = ::readdir(stream.get())) {
    std::string_view name = d->d_name;
    struct stat st {};
    if (name == "." || name == ".." || is_reserved_name(name) ||
        ::fstatat(dir, d->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
      continue;
    const char* type = S_ISREG(st.st_mode)   ? "file"
                       : S_ISDIR(st.st_mode) ? "dir"
                       : S_ISLNK(st.st_mode) ? "link"
                                             : "other";
    entries.push_back(
        {std::string(name), type, static_cast<uint64_t>(st.st_size), st.st_mtim.tv_sec});
  }
  return entries;
}

}  // namespace sockserv
