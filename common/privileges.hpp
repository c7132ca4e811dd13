// Running with less privilege: --chroot, --user, --group, and the root checks.
//
// A server binds its well-known port (below 1024: root only) first, then becomes an
// ordinary user, so a bug in a handler cannot be turned into root access. The order matters:
// look the user up while /etc/passwd is still reachable, chroot while still root, drop the
// supplementary groups and the group while still allowed to, and the user last.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace sockserv {

struct PrivilegeSettings {
  std::string user;         // empty: keep the current user
  std::string group;        // empty: the user's primary group
  std::string chroot_dir;   // empty: no chroot
  bool allow_root = false;  // services that refuse root (cmd-server) accept it with this
};

/// The ids a server will run as, looked up before it opens any socket: a typo in --user or
/// --group then fails at once, before a "listening on" line says the server is up.
struct PrivilegeDrop {
  PrivilegeSettings settings;
  std::optional<uid_t> uid;  // empty: no --user, the ids stay as they are
  gid_t gid = 0;
  /// True when the server will still be root after the drop (no --user, or --user root).
  bool stays_root() const;
};

/// Looks up --user and --group and checks --chroot is a directory. Throws UsageError
/// (--group without --user, no such directory) or FatalError EX_NOUSER (unknown user or group).
PrivilegeDrop plan_privilege_drop(const PrivilegeSettings& settings);

/// chroot (if asked), then setgroups, setgid, setuid to the planned ids, and checks that
/// root cannot be regained. Throws FatalError (not permitted...).
void drop_privileges(const PrivilegeDrop& drop);

/// True when the process runs with root's effective user id.
bool running_as_root();

}  // namespace sockserv
