// Opening names a client sent, strictly inside one served directory (file-server).
//
// A name from the network is hostile until checked: "../etc/passwd", "/etc/passwd", a
// symlink that points outside, a NUL byte that cuts the name short in C. The text is checked
// first (so the refusal can be named), then the kernel resolves it with openat2(2) and
// RESOLVE_BENEATH, which refuses any step out of the directory, symlinks included, with no
// race between checking and opening.
#pragma once

#include <string>
#include <string_view>

#include "fd.hpp"

namespace sockserv {

/// Why a name is refused: "" when it is acceptable as a relative name under a root, else
/// "outside root" (absolute, ".." components) or "invalid name" (empty, NUL byte).
std::string name_problem(std::string_view name);

/// openat2(root, name, flags) that cannot leave `root`. Throws std::system_error with errno
/// EXDEV (escape, e.g. through a symlink), ENOENT, ELOOP... naming the call and the name.
UniqueFd open_beneath(int root, const std::string& name, int flags, int mode = 0);

/// The client-facing message for a failed open_beneath: "not found", "outside root"...
std::string open_error_message(int err);

}  // namespace sockserv
