// DigestCache: the sha256 of served files, remembered in the server's own memory.
//
// file-server announces a file's sha256 before its first byte, so it must read the whole
// file first; the cache spares that read for a file that has not changed. An entry belongs
// to one file (device and inode) in one state: size, mtime and ctime to the nanosecond. ctime
// cannot be set by a user (any write, chmod, rename or xattr change moves it to "now"), so a
// file changed and its mtime put back is still seen as changed. Nothing is written into the
// served tree, and nothing found there (such as an extended attribute) is trusted.
#pragma once

#include <sys/stat.h>

#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace sockserv {

class DigestCache {
 public:
  /// Remembers at most `capacity` files (then starts afresh: simple, and bounded).
  DigestCache() = default;
  explicit DigestCache(size_t capacity) : capacity_(capacity) {}

  /// The sha256 (64 hex digits) of the whole regular file open on `fd`: remembered, or read
  /// (with pread; the offset of `fd` is untouched) and remembered. Safe from many threads.
  /// Throws std::system_error.
  std::string sha256_of(int fd);

 private:
  struct Entry {
    off_t size;
    timespec mtime, ctime;
    std::string digest;
  };
  static bool matches(const Entry& entry, const struct stat& st);

  size_t capacity_ = 4096;
  mutable std::mutex mutex_;                          // guards the members below
  std::map<std::pair<dev_t, ino_t>, Entry> entries_;  // by the file's identity
};

}  // namespace sockserv
