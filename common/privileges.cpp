// getpwnam_r / getgrnam_r, chroot(2), setgroups(2), setgid(2), setuid(2).
#include "privileges.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <vector>

#include "error.hpp"
#include "log.hpp"

namespace sockserv {
namespace {

struct Identity {
  uid_t uid;
  gid_t gid;
};

FatalError failure(const std::string& call) {
  return FatalError(EX_OSERR, call + ": " + std::strerror(errno));
}

Identity look_up(const PrivilegeSettings& settings) {
  std::vector<char> buffer(16384);
  passwd pw{};
  passwd* found_user = nullptr;
  int rc = ::getpwnam_r(settings.user.c_str(), &pw, buffer.data(), buffer.size(), &found_user);
  if (found_user == nullptr) {
    throw FatalError(EX_NOUSER, "--user " + settings.user + ": " +
                                    (rc != 0 ? std::strerror(rc) : "no such user"));
  }
  Identity id{pw.pw_uid, pw.pw_gid};
  if (!settings.group.empty()) {
    group gr{};
    group* found_group = nullptr;
    rc = ::getgrnam_r(settings.group.c_str(), &gr, buffer.data(), buffer.size(), &found_group);
    if (found_group == nullptr) {
      throw FatalError(EX_NOUSER, "--group " + settings.group + ": " +
                                      (rc != 0 ? std::strerror(rc) : "no such group"));
    }
    id.gid = gr.gr_gid;
  }
  return id;
}

}  // namespace

bool running_as_root() {
  return ::geteuid() == 0;
}

void drop_privileges(const PrivilegeSettings& settings) {
  if (!settings.group.empty() && settings.user.empty()) {
    throw UsageError("--group needs --user");
  }
  // Look the user up before chroot: /etc/passwd is not inside the new root.
  std::optional<Identity> id;
  if (!settings.user.empty()) id = look_up(settings);
  if (!settings.chroot_dir.empty()) {
    // chroot needs root; chdir first-then-chroot would leave a way out, so chdir("/") after.
    if (::chroot(settings.chroot_dir.c_str()) < 0) throw failure("chroot " + settings.chroot_dir);
    if (::chdir("/") < 0) throw failure("chdir / in " + settings.chroot_dir);
    log_info("changed root to ", settings.chroot_dir);
  }
  if (!id) return;
  // Groups first: after setuid we would no longer be allowed to change them. setgroups drops
  // root's supplementary groups (gid 0 among them), which setgid alone would keep.
  if (::setgroups(1, &id->gid) < 0) throw failure("setgroups " + std::to_string(id->gid));
  if (::setgid(id->gid) < 0) throw failure("setgid " + std::to_string(id->gid));
  if (::setuid(id->uid) < 0) throw failure("setuid " + std::to_string(id->uid));
  // setuid as root sets real, effective and saved ids; check that no way back is left.
  if (id->uid != 0 && (::setuid(0) == 0 || ::seteuid(0) == 0)) {
    throw FatalError(EX_OSERR,
                     "dropped to uid " + std::to_string(id->uid) + " but could regain root");
  }
  if (::getuid() != id->uid || ::geteuid() != id->uid || ::getegid() != id->gid) {
    throw FatalError(EX_OSERR, "privilege drop left unexpected ids");
  }
  log_info("running as user ", settings.user, " (uid ", id->uid, ", gid ", id->gid, ")");
}

}  // namespace sockserv
