// sd_notify(3): telling systemd how the service is doing, for Type=notify units.
//
// READY=1 once the sockets are open and the server serves (systemd then starts the units
// ordered after it), STATUS= for `systemctl status`, STOPPING=1 when a stop begins. Without
// NOTIFY_SOCKET in the environment (not under systemd) every call does nothing.
#pragma once

#include <string>

namespace sockserv {

/// True when NOTIFY_SOCKET is set: somebody (systemd) listens to the calls below.
bool notify_wanted();
/// Sends READY=1 with a STATUS= line.
void notify_ready(const std::string& status);
/// Sends STATUS= only.
void notify_status(const std::string& status);
/// Sends STOPPING=1 with a STATUS= line.
void notify_stopping(const std::string& status);

}  // namespace sockserv
