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
#include <random>

#include "error.hpp"
#include "escape.hpp"
#include "log.hpp"

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

std::unique_ptr<StagedFile> ServedTree::stage(const std::string& name, bool overwrite,
                                              const std::string& peer) const {
  auto [dir, base] = open_parent(name, peer);
  struct stat st {};
  if (!overwrite && ::fstatat(dir.get(), base.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0)
    throw Refusal("exists");  // checked early; commit() checks again, atomically
  try {
    return std::make_unique<StagedFile>(std::move(dir), base);
  } catch (const std::system_error& e) {
    throw Refusal("cannot create: " + e.code().message());
  }
}

void ServedTree::refuse(const std::string& name, const std::string& problem,
                        const std::string& peer) {
  if (problem == "outside root" || problem == "invalid name") {
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
    if (name == "." || name == ".." || ::fstatat(dir, d->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
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

StagedFile::StagedFile(UniqueFd dir, const std::string& name)
    : dir_(std::move(dir)),
      name_(name),
      temp_name_("." + name + "." + std::to_string(std::random_device{}()) + ".part") {
  fd_.reset(::openat(dir_.get(), temp_name_.c_str(),
                     O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (!fd_) throw_errno("openat " + temp_name_);
}

StagedFile::~StagedFile() {
  if (!temp_name_.empty()) ::unlinkat(dir_.get(), temp_name_.c_str(), 0);
}

bool StagedFile::commit(bool overwrite) {
  // renameat2(RENAME_NOREPLACE) checks and renames in one step: no window for a race.
  if (::renameat2(dir_.get(), temp_name_.c_str(), dir_.get(), name_.c_str(),
                  overwrite ? 0 : RENAME_NOREPLACE) < 0) {
    if (errno == EEXIST) return false;
    throw_errno("renameat2 " + name_);
  }
  temp_name_.clear();
  return true;
}

}  // namespace sockserv
