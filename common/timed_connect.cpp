// A non-blocking connect(2) and a wait for the socket to become writable: the classic way
// to bound a connect in time (UNP 16.3, connect_nonb).
#include "timed_connect.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <sstream>
#include <string>
#include <vector>

#include "error.hpp"

namespace sockserv {
namespace {

// 0 when connected, else the errno of the failure; -1 when the deadline passed first.
int try_connect(int fd, const SocketAddress& address, Deadline deadline) {
  if (::connect(fd, address.get(), address.length) == 0) return 0;
  // EINPROGRESS: the handshake goes on in the background (the socket is non-blocking);
  // EINTR: it goes on too, and a second connect would only say EALREADY.
  if (errno != EINPROGRESS && errno != EINTR) return errno;
  pollfd entry{fd, POLLOUT, 0};
  if (!client_io().wait(std::span(&entry, 1), deadline)) return -1;
  // Writable means the handshake ended, well or not: SO_ERROR says which.
  int error = 0;
  socklen_t length = sizeof error;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) < 0) return errno;
  return error;
}

std::string seconds_text(Millis duration) {
  std::ostringstream text;
  text << static_cast<double>(duration.count()) / 1000 << " s";
  return text.str();
}

}  // namespace

std::vector<SocketAddress> addresses_of(const Endpoint& endpoint) {
  if (is_unix(endpoint.transport)) return {unix_address(endpoint.path)};
  return resolve(endpoint, /*passive=*/false);
}

UniqueFd connect_within(const Endpoint& endpoint, Millis timeout) {
  return connect_within(addresses_of(endpoint), to_string(endpoint), timeout);
}

UniqueFd connect_within(const std::vector<SocketAddress>& addresses, std::string_view name,
                        Millis timeout) {
  Deadline deadline = Deadline::after_or_never(timeout);
  int last_error = ECONNREFUSED;
  for (const SocketAddress& address : addresses) {
    UniqueFd fd(::socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd) throw_errno("socket");
    int result = try_connect(fd.get(), address, deadline);
    if (result == 0) return fd;
    if (result < 0)
      throw TimeoutError("connect " + std::string(name) + ": no answer within " +
                         seconds_text(timeout));
    last_error = result;
  }
  throw_errno(last_error, "connect " + std::string(name));
}

}  // namespace sockserv
