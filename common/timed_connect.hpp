// Connecting with a time limit: connect(2) on a blocking socket waits as long as the kernel
// keeps retrying SYNs (about two minutes), which is too long for a client a user waits on.
#pragma once

#include <string_view>
#include <vector>

#include "address.hpp"
#include "fd.hpp"
#include "io.hpp"

namespace sockserv {

/// Connects to a tcp or unix `endpoint`, trying each address it resolves to until one
/// answers, all within `timeout` (0: no limit). The socket returned is non-blocking.
/// Throws TimeoutError when the time is over, std::system_error when every address refused.
/// The name lookup itself (getaddrinfo) is not bounded.
UniqueFd connect_within(const Endpoint& endpoint, Millis timeout);

/// The same for addresses already resolved (`addresses_of`): a caller that must look at
/// them first (is the server on this machine?) connects to exactly what it looked at.
/// `name` is the endpoint as the user wrote it, for messages.
UniqueFd connect_within(const std::vector<SocketAddress>& addresses, std::string_view name,
                        Millis timeout);

/// The socket addresses of a tcp or unix endpoint (getaddrinfo for names).
std::vector<SocketAddress> addresses_of(const Endpoint& endpoint);

}  // namespace sockserv
