// Running with less privilege: --chroot, --user, --group, and the root checks.
//
// A server binds its well-known port (below 1024: root only) first, then becomes an
// ordinary user, so a bug in a handler cannot be turned into root access. The order matters:
// look the user up while /etc/passwd is still reachable, chroot while still root, drop the
// supplementary groups and the group while still allowed to, and the user last.
#pragma once

#include <string>

namespace sockserv {

struct PrivilegeSettings {
  std::string user;         // empty: keep the current user
  std::string group;        // empty: the user's primary group
  std::string chroot_dir;   // empty: no chroot
  bool allow_root = false;  // services that refuse root (cmd-server) accept it with this
};

/// chroot (if asked), then setgroups, setgid, setuid to --user/--group, and checks that
/// root cannot be regained. Throws FatalError (unknown user, not permitted...).
void drop_privileges(const PrivilegeSettings& settings);

/// True when the process runs with root's effective user id.
bool running_as_root();

}  // namespace sockserv
