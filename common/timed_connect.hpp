// Connecting with a time limit: connect(2) on a blocking socket waits as long as the kernel
// keeps retrying SYNs (about two minutes), which is too long for a client a user waits on.
#pragma once

#include "address.hpp"
#include "fd.hpp"
#include "io.hpp"

namespace sockserv {

/// Connects to a tcp or unix `endpoint`, trying each address it resolves to until one
/// answers, all within `timeout` (0: no limit). The socket returned is non-blocking.
/// Throws TimeoutError when the time is over, std::system_error when every address refused.
/// The name lookup itself (getaddrinfo) is not bounded.
UniqueFd connect_within(const Endpoint& endpoint, Millis timeout);

}  // namespace sockserv
