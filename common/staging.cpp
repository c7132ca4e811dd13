// Upload staging: O_TMPFILE + linkat where possible, a hidden staging directory elsewhere.
#include "staging.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <random>

#include "beneath.hpp"
#include "error.hpp"

namespace sockserv {

namespace {

std::string random_name() {
  std::random_device random;
  return std::to_string(random()) + std::to_string(random()) + ".part";
}

// mkdirat fails with EEXIST on every upload after the first: that is the normal case. The
// directory is made by the user that serves (after the privilege drop), mode 0700.
UniqueFd open_staging_directory(int root) {
  if (::mkdirat(root, kStagingDirectory, 0700) < 0 && errno != EEXIST)
    throw_errno(std::string("mkdirat ") + kStagingDirectory);
  UniqueFd dir(::openat(root, kStagingDirectory, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir) throw_errno(std::string("open ") + kStagingDirectory);
  return dir;
}

// An unnamed file in `dir`, or an empty descriptor where the file system has no O_TMPFILE.
// Without O_EXCL the file may be linked later (that is the point).
UniqueFd open_unnamed(int dir) {
  return UniqueFd(::openat(dir, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644));
}

std::string proc_path(int fd) {
  return "/proc/self/fd/" + std::to_string(fd);
}

// linkat(AT_EMPTY_PATH) needs CAP_DAC_READ_SEARCH; the /proc/self/fd route needs /proc. Fine
// to try both when committing, but an upload must not be received only to find out then
// that neither works (a chroot without /proc, an unprivileged user): find out first.
bool can_name_unnamed(int fd, int staging) {
  if (::access(proc_path(fd).c_str(), F_OK) == 0) return true;
  UniqueFd probe = open_unnamed(staging);  // a file once linked cannot be unnamed and relinked
  std::string name = random_name();
  if (!probe || ::linkat(probe.get(), "", staging, name.c_str(), AT_EMPTY_PATH) < 0) return false;
  ::unlinkat(staging, name.c_str(), 0);
  return true;
}

bool same_file_system(int a, int b) {
  struct stat sa {
  }, sb{};
  if (::fstat(a, &sa) < 0 || ::fstat(b, &sb) < 0) throw_errno("fstat");
  return sa.st_dev == sb.st_dev;
}

}  // namespace

bool is_reserved_name(std::string_view component) {
  return component.starts_with(".sockserv-");
}

size_t remove_stale_staging(const std::string& root) {
  UniqueFd top(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!top) throw_errno("open " + root);
  int fd = ::openat(top.get(), kStagingDirectory, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return 0;
    throw_errno(root + "/" + kStagingDirectory);
  }
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::fdopendir(fd), ::closedir);
  if (!dir) {
    UniqueFd owner(fd);
    throw_errno("fdopendir " + root + "/" + kStagingDirectory);
  }
  size_t removed = 0;
  while (const dirent* d = ::readdir(dir.get())) {
    if (std::strcmp(d->d_name, ".") == 0 || std::strcmp(d->d_name, "..") == 0) continue;
    // A file its writer still holds locked is an upload in progress (another instance
    // serving the same root): only unlocked ones are left over from a dead process.
    UniqueFd file(::openat(::dirfd(dir.get()), d->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!file || ::flock(file.get(), LOCK_EX | LOCK_NB) < 0) continue;
    if (::unlinkat(::dirfd(dir.get()), d->d_name, 0) == 0) ++removed;
  }
  return removed;
}

void check_room(int dir, uint64_t length) {
  struct statvfs fs {};
  if (::fstatvfs(dir, &fs) < 0) throw_errno("fstatvfs");
  // f_bavail, not f_bfree: the blocks reserved for root are not ours to promise.
  uint64_t available = static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
  if (length > available) {
    throw Refusal("no space: " + std::to_string(available) + " bytes available, " +
                  std::to_string(length) + " needed (ENOSPC)");
  }
  // Beyond RLIMIT_FSIZE a write fails with EFBIG (and raises SIGXFSZ): refuse before it starts.
  struct rlimit limit {};
  if (::getrlimit(RLIMIT_FSIZE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY &&
      length > limit.rlim_cur) {
    throw Refusal("file too large: this server may write at most " +
                  std::to_string(limit.rlim_cur) + " bytes per file (EFBIG)");
  }
}

std::string errno_reason(int err) {
  const char* name = ::strerrorname_np(err);
  return std::string(std::strerror(err)) + " (" + (name ? name : std::to_string(err)) + ")";
}

StagedFile::StagedFile(int root, UniqueFd parent, std::string name, bool unnamed_allowed)
    : staging_(open_staging_directory(root)), parent_(std::move(parent)), name_(std::move(name)) {
  // rename and link work within one file system only: say so now, not after the upload.
  if (!same_file_system(staging_.get(), parent_.get())) throw_errno(EXDEV, "stage " + name_);
  if (unnamed_allowed) fd_ = open_unnamed(staging_.get());
  if (fd_ && can_name_unnamed(fd_.get(), staging_.get())) return;
  fd_.reset();
  temp_name_ = random_name();
  fd_.reset(::openat(staging_.get(), temp_name_.c_str(),
                     O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (!fd_) {
    temp_name_.clear();
    throw_errno(std::string("openat ") + kStagingDirectory);
  }
  // Held until the descriptor closes (at the latest when this process dies): tells
  // remove_stale_staging that this upload is alive.
  if (::flock(fd_.get(), LOCK_EX | LOCK_NB) < 0) throw_errno("flock " + temp_name_);
}

StagedFile::~StagedFile() {
  if (!temp_name_.empty()) ::unlinkat(staging_.get(), temp_name_.c_str(), 0);
}

// Gives the unnamed file the name `name` in `dir`; linkat fails with EEXIST for a taken name.
void StagedFile::name_unnamed(int dir, const std::string& name) const {
  if (::linkat(fd_.get(), "", dir, name.c_str(), AT_EMPTY_PATH) == 0) return;
  if (errno != ENOENT && errno != EPERM) throw_errno("linkat " + name);
  // No CAP_DAC_READ_SEARCH: the same through the descriptor's magic link in /proc.
  if (::linkat(AT_FDCWD, proc_path(fd_.get()).c_str(), dir, name.c_str(), AT_SYMLINK_FOLLOW) < 0)
    throw_errno("linkat " + name);
}

bool StagedFile::commit(bool overwrite) {
  try {
    // "ok" promises a stored file: flush now (a full disk may show only here).
    if (::fsync(fd_.get()) < 0) throw_errno("fsync");
    if (unnamed()) {
      if (!overwrite) {
        try {
          name_unnamed(parent_.get(), name_);  // checks and names in one step: no race
          return true;
        } catch (const std::system_error& e) {
          if (e.code().value() == EEXIST) return false;
          throw;
        }
      }
      // linkat cannot replace a name: link into staging, then rename over the old file.
      temp_name_ = random_name();
      name_unnamed(staging_.get(), temp_name_);
    }
    // renameat2(RENAME_NOREPLACE) checks and renames in one step: no window for a race.
    if (::renameat2(staging_.get(), temp_name_.c_str(), parent_.get(), name_.c_str(),
                    overwrite ? 0 : RENAME_NOREPLACE) < 0) {
      if (errno == EEXIST) return false;
      throw_errno("renameat2 " + name_);
    }
    temp_name_.clear();
    return true;
  } catch (const std::system_error& e) {
    throw Refusal("cannot store: " + errno_reason(e.code().value()));
  }
}

}  // namespace sockserv
