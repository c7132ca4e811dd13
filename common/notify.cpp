// sd_notify from libsystemd: a datagram to the unix socket named by NOTIFY_SOCKET.
#include "notify.hpp"

#include <cstdlib>
#include <cstring>

#include "libsystemd.hpp"
#include "log.hpp"

namespace sockserv {
namespace {

void send(const std::string& message) {
  if (!notify_wanted()) return;  // nobody listens: load nothing
  const char* why = nullptr;
  const LibSystemd* systemd = libsystemd(&why);
  if (systemd == nullptr) {
    log_warning("NOTIFY_SOCKET is set but ", why);
    return;
  }
  // unset_environment=0: later STATUS= and STOPPING=1 messages need NOTIFY_SOCKET too.
  int rc = systemd->notify(0, message.c_str());
  if (rc < 0) log_warning("sd_notify: ", std::strerror(-rc));
}

}  // namespace

bool notify_wanted() {
  return std::getenv("NOTIFY_SOCKET") != nullptr;
}

void notify_ready(const std::string& status) {
  send("READY=1\nSTATUS=" + status);
}
void notify_status(const std::string& status) {
  send("STATUS=" + status);
}
void notify_stopping(const std::string& status) {
  send("STOPPING=1\nSTATUS=" + status);
}

}  // namespace sockserv
