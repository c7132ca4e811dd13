// getpwnam_r / getgrnam_r, chroot(2), setgroups(2), setgid(2), setuid(2).
#include "privileges.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "error.hpp"
#include "log.hpp"

namespace sockserv {
namespace {

FatalError failure(const std::string& call) {
  return FatalError(EX_OSERR, call + ": " + std::strerror(errno));
}

void look_up(const PrivilegeSettings& settings, PrivilegeDrop& drop) {
  std::vector<char> buffer(16384);
  passwd pw{};
  passwd* found_user = nullptr;
  int rc = ::getpwnam_r(settings.user.c_str(), &pw, buffer.data(), buffer.size(), &found_user);
  if (found_user == nullptr) {
    throw FatalError(EX_NOUSER, "--user " + settings.user + ": " +
                                    (rc != 0 ? std::strerror(rc) : "no such user"));
  }
  drop.uid = pw.pw_uid;
  drop.gid = pw.pw_gid;
  if (!settings.group.empty()) {
    group gr{};
    group* found_group = nullptr;
    rc = ::getgrnam_r(settings.group.c_str(), &gr, buffer.data(), buffer.size(), &found_group);
    if (found_group == nullptr) {
      throw FatalError(EX_NOUSER, "--group " + settings.group + ": " +
                                      (rc != 0 ? std::strerror(rc) : "no such group"));
    }
    drop.gid = gr.gr_gid;
  }
}

}  // namespace

bool running_as_root() {
  return ::geteuid() == 0;
}

bool PrivilegeDrop::stays_root() const {
  return uid ? *uid == 0 : running_as_root();
}

PrivilegeDrop plan_privilege_drop(const PrivilegeSettings& settings) {
  if (!settings.group.empty() && settings.user.empty()) throw UsageError("--group needs --user");
  PrivilegeDrop drop;
  drop.settings = settings;
  // Looked up now, before chroot: /etc/passwd is not inside the new root.
  if (!settings.user.empty()) look_up(settings, drop);
  struct stat st {};
  if (!settings.chroot_dir.empty() &&
      (::stat(settings.chroot_dir.c_str(), &st) < 0 || !S_ISDIR(st.st_mode)))
    throw UsageError("--chroot " + settings.chroot_dir + " is not a directory");
  return drop;
}

void drop_privileges(const PrivilegeDrop& drop) {
  const PrivilegeSettings& settings = drop.settings;
  if (!settings.chroot_dir.empty()) {
    // chroot needs root; chdir first-then-chroot would leave a way out, so chdir("/") after.
    if (::chroot(settings.chroot_dir.c_str()) < 0) throw failure("chroot " + settings.chroot_dir);
    if (::chdir("/") < 0) throw failure("chdir / in " + settings.chroot_dir);
    log_info("changed root to ", settings.chroot_dir);
  }
  if (!drop.uid) return;
  uid_t uid = *drop.uid;
  gid_t gid = drop.gid;
  // Groups first: after setuid we would no longer be allowed to change them. setgroups drops
  // root's supplementary groups (gid 0 among them), which setgid alone would keep.
  if (::setgroups(1, &gid) < 0) throw failure("setgroups " + std::to_string(gid));
  if (::setgid(gid) < 0) throw failure("setgid " + std::to_string(gid));
  if (::setuid(uid) < 0) throw failure("setuid " + std::to_string(uid));
  // setuid as root sets real, effective and saved ids; check that no way back is left.
  if (uid != 0 && (::setuid(0) == 0 || ::seteuid(0) == 0)) {
    throw FatalError(EX_OSERR, "dropped to uid " + std::to_string(uid) + " but could regain root");
  }
  if (::getuid() != uid || ::geteuid() != uid || ::getegid() != gid) {
    throw FatalError(EX_OSERR, "privilege drop left unexpected ids");
  }
  log_info("running as user ", settings.user, " (uid ", uid, ", gid ", gid, ")");
}

}  // namespace sockserv
