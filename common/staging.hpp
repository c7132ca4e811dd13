// Staging uploads outside the served names (file-server).
//
// An upload in progress must not be seen: not in a listing, not by a download, not after a
// crash. Where the file system allows it, the body goes into an unnamed file (O_TMPFILE)
// that gets its name with linkat(2) only when it is complete and its sha256 verified; a
// process killed with -9 leaves nothing behind, since the kernel frees an unnamed file with
// its last descriptor. Elsewhere (no O_TMPFILE, or neither /proc nor the privilege to link
// an unnamed file) the body goes into a named file in the hidden staging directory
// ROOT/.sockserv-staging, renamed into place when complete; what a crash leaves there is
// removed when the server starts.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "fd.hpp"

namespace sockserv {

/// The staging directory, directly under the root. Every name that starts with ".sockserv-"
/// is the server's own: listings leave it out and no request may name it.
inline constexpr const char* kStagingDirectory = ".sockserv-staging";
bool is_reserved_name(std::string_view component);

/// Removes the files a previous run left in ROOT/.sockserv-staging; returns how many. A root
/// without a staging directory has nothing to remove. Throws std::system_error.
size_t remove_stale_staging(const std::string& root);

/// Throws Refusal naming the reason when `length` bytes cannot be stored under the directory
/// `dir`: fewer bytes available to this user on its file system (fstatvfs, "ENOSPC") or a
/// file size limit of this process below `length` (RLIMIT_FSIZE, "EFBIG").
void check_room(int dir, uint64_t length);

/// A client-facing reason for a failed write: "No space left on device (ENOSPC)".
std::string errno_reason(int err);

/// One upload being written, invisible under every served name until commit().
class StagedFile {
 public:
  /// Stages an upload that will be called `name` in the directory `parent` (under the served
  /// root `root`): unnamed where possible, unless `unnamed_allowed` is false (tests of the
  /// named way). Throws std::system_error (EXDEV: `parent` is on another file system than
  /// the staging directory).
  StagedFile(int root, UniqueFd parent, std::string name, bool unnamed_allowed = true);
  ~StagedFile();
  StagedFile(const StagedFile&) = delete;
  StagedFile& operator=(const StagedFile&) = delete;

  /// Where the body goes (write only).
  int fd() const { return fd_.get(); }
  /// True when the body is in an unnamed O_TMPFILE (nothing left behind by a crash).
  bool unnamed() const { return temp_name_.empty(); }
  /// Flushes the body to disk, then gives it its name atomically: readers see no file or the
  /// whole file. Without `overwrite` an existing name is kept and false returned. Throws
  /// Refusal with the reason on a failure (a full disk may show only at fsync).
  bool commit(bool overwrite);

 private:
  void name_unnamed(int dir, const std::string& name) const;
  UniqueFd staging_;       // ROOT/.sockserv-staging
  UniqueFd parent_;        // the directory the file will appear in
  std::string name_;       // its name there
  UniqueFd fd_;            // the body
  std::string temp_name_;  // its name in staging_ ("" while unnamed, or once committed)
};

}  // namespace sockserv
