// Opening names a client sent, strictly inside one served directory (file-server).
//
// A name from the network is hostile until checked: "../etc/passwd", "/etc/passwd", a
// symlink that points outside, a NUL byte that cuts the name short in C. The text is checked
// first (so the refusal can be named), then the kernel resolves it with openat2(2) and
// RESOLVE_BENEATH, which refuses any step out of the directory, symlinks included, with no
// race between checking and opening. Under a systemd sandbox that refuses openat2, the name
// is opened one component at a time with O_NOFOLLOW instead (open_by_components).
#pragma once

#include <cstdint>
#include <ctime>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "fd.hpp"

namespace sockserv {

/// Why a name is refused: "" when it is acceptable as a relative name under a root, else
/// "outside root" (absolute, ".." components), "invalid name" (empty, NUL byte) or
/// "reserved name" (a component that is the server's own, such as its staging directory).
std::string name_problem(std::string_view name);

/// openat2(root, name, flags) that cannot leave `root`. Throws std::system_error with errno
/// EXDEV (escape, e.g. through a symlink), ENOENT, ELOOP... naming the call and the name.
UniqueFd open_beneath(int root, const std::string& name, int flags, int mode = 0);

/// What open_beneath falls back to where openat2 is refused with ENOSYS (a systemd unit with
/// RestrictSUIDSGID= or DynamicUser=): one component at a time, each with O_NOFOLLOW, so
/// every symlink is refused, even one that stays inside. Throws std::system_error (EXDEV for
/// "..", ELOOP or ENOTDIR for a symlink, ENOENT...).
UniqueFd open_by_components(int root, const std::string& name, int flags, int mode = 0);

/// The client-facing message for a failed open_beneath: "not found", "outside root"...
std::string open_error_message(int err);

/// A request refused with a message meant for the client ("not found", "outside root"...).
struct Refusal : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// The directory tree a server serves: opens client-sent names strictly inside it.
class ServedTree {
 public:
  /// Opens `root` (O_PATH). Throws std::system_error.
  explicit ServedTree(const std::string& root);

  /// Opens `name` under the root (name_problem, then open_beneath). Throws Refusal; names
  /// that try to escape are logged with `peer`: an administrator wants to know.
  UniqueFd open(const std::string& name, int flags, const std::string& peer) const;

  /// For creating `name`: opens its parent directory and returns it with the last component.
  std::pair<UniqueFd, std::string> open_parent(const std::string& name,
                                               const std::string& peer) const;

  /// For an upload of `length` bytes to `name`: a StagedFile (staging.hpp), invisible until
  /// committed. Throws Refusal (a bad name, "exists" when the name is taken and not
  /// `overwrite`, no room for `length` bytes, "cannot create: ...").
  std::unique_ptr<class StagedFile> stage(const std::string& name, uint64_t length, bool overwrite,
                                          const std::string& peer) const;

 private:
  [[noreturn]] static void refuse(const std::string& name, const std::string& problem,
                                  const std::string& peer);
  UniqueFd root_;
};

/// One entry of a directory, as lstat(2) sees it (a symlink is a "link", not its target).
struct DirEntry {
  std::string name;
  const char* type;  // "file", "dir", "link" or "other"
  uint64_t size;
  time_t mtime;
};
/// The entries of the open directory `dir` in readdir order; ".", ".." and the server's own
/// names (is_reserved_name: the staging directory) left out.
std::vector<DirEntry> list_directory(int dir);

}  // namespace sockserv
