// The in-memory digest cache of file-server.
#include "digest_cache.hpp"

#include "error.hpp"
#include "sha256.hpp"

namespace sockserv {

bool DigestCache::matches(const Entry& entry, const struct stat& st) {
  auto same = [](const timespec& a, const timespec& b) {
    return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
  };
  return entry.size == st.st_size && same(entry.mtime, st.st_mtim) && same(entry.ctime, st.st_ctim);
}

std::string DigestCache::sha256_of(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) < 0) throw_errno("fstat");
  auto key = std::make_pair(st.st_dev, st.st_ino);
  {
    std::lock_guard lock(mutex_);
    auto found = entries_.find(key);
    if (found != entries_.end() && matches(found->second, st)) return found->second.digest;
  }
  // Hashed without the lock: other connections go on meanwhile.
  std::string digest = sha256_of_file(fd, 0, static_cast<uint64_t>(st.st_size));
  struct stat after {};
  if (::fstat(fd, &after) < 0) throw_errno("fstat");
  std::lock_guard lock(mutex_);
  // A file that changed while it was read has no digest worth remembering.
  Entry entry{st.st_size, st.st_mtim, st.st_ctim, digest};
  if (!matches(entry, after)) return digest;
  if (entries_.size() >= capacity_) entries_.clear();
  entries_[key] = std::move(entry);
  return digest;
}

}  // namespace sockserv
