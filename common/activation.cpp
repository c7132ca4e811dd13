// sd_listen_fds_with_names(3) and inetd's fd 0.
#include "activation.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "error.hpp"
#include "libsystemd.hpp"
#include "log.hpp"

namespace sockserv {
namespace {

// SO_ACCEPTCONN tells a listening socket (Accept=no, inetd "wait") from a connected one.
bool is_listening(int fd) {
  int listening = 0;
  socklen_t len = sizeof listening;
  if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0)
    throw_errno("getsockopt SO_ACCEPTCONN");
  return listening != 0;
}

// Sorts one handed-over socket into `sockets`.
void take_socket(ActivatedSockets& sockets, UniqueFd fd, const std::string& name) {
  int type = socket_type_of(fd.get());
  if (type < 0)
    throw UsageError(sockets.source + " passed fd " + std::to_string(fd.get()) +
                     ", which is not a socket");
  if (type == SOCK_STREAM && !is_listening(fd.get())) {
    if (sockets.connection || !sockets.listeners.empty()) {
      throw UsageError(sockets.source +
                       " passed a connected socket among others: use Accept=yes with one socket");
    }
    sockets.connection = std::move(fd);
    return;
  }
  if (sockets.connection)
    throw UsageError(sockets.source + " passed a connected socket among others");
  sockets.listeners.push_back(adopt_listener(std::move(fd)));
  sockets.names.push_back(name);
}

void null_onto(int target) {
  UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!null) throw_errno("open /dev/null");
  // dup2 clears close-on-exec on the target: fds 0-2 stay open across exec, as they should.
  if (::dup2(null.get(), target) < 0) throw_errno("dup2 /dev/null " + std::to_string(target));
}

}  // namespace

std::optional<ActivatedSockets> systemd_sockets() {
  // Not started by systemd (or by systemd-socket-activate): no need to load libsystemd.
  if (std::getenv("LISTEN_FDS") == nullptr) return std::nullopt;
  const char* why = nullptr;
  const LibSystemd* systemd = libsystemd(&why);
  if (systemd == nullptr)
    throw FatalError(EX_UNAVAILABLE, std::string("LISTEN_FDS is set but ") + why);
  char** names = nullptr;
  // unset_environment=1: LISTEN_* are for this process only, not for the commands it runs.
  // sd_listen_fds checks LISTEN_PID against getpid() and marks the fds close-on-exec.
  int n = systemd->listen_fds_with_names(1, &names);
  if (n < 0) throw_errno(-n, "sd_listen_fds");
  if (n == 0) return std::nullopt;
  std::vector<std::string> fd_names;
  for (int i = 0; i < n; ++i) {
    fd_names.emplace_back(names != nullptr && names[i] != nullptr ? names[i] : "");
    std::free(names != nullptr ? names[i] : nullptr);
  }
  std::free(names);
  ActivatedSockets sockets;
  sockets.source = "systemd";
  for (int i = 0; i < n; ++i) {
    take_socket(sockets, UniqueFd(SD_LISTEN_FDS_START + i), fd_names[static_cast<size_t>(i)]);
  }
  return sockets;
}

bool stderr_is_stdin_socket() {
  struct stat in {
  }, err{};
  if (::fstat(STDIN_FILENO, &in) < 0 || ::fstat(STDERR_FILENO, &err) < 0) return false;
  return S_ISSOCK(in.st_mode) && in.st_dev == err.st_dev && in.st_ino == err.st_ino;
}

ActivatedSockets inetd_socket() {
  bool stderr_too = stderr_is_stdin_socket();
  // A close-on-exec copy: fd 0 itself would leak into every program a handler runs.
  UniqueFd fd(::fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3));
  if (!fd) throw_errno("fcntl F_DUPFD_CLOEXEC 0");
  if (socket_type_of(fd.get()) < 0) throw UsageError("--inetd: standard input is not a socket");
  // While fds 0 and 1 hold the socket, the client would not see EOF when we close ours.
  null_onto(STDIN_FILENO);
  null_onto(STDOUT_FILENO);
  if (stderr_too) null_onto(STDERR_FILENO);
  ActivatedSockets sockets;
  sockets.source = "inetd";
  take_socket(sockets, std::move(fd), "");
  return sockets;
}

}  // namespace sockserv
