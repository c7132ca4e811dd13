// fetch_reply: the whole answer of a one-shot service (daytime, time), over a stream (read to
// EOF) or a datagram (send an empty request, take the one reply).
#pragma once

#include <string>

#include "address.hpp"
#include "io.hpp"

namespace sockserv {

/// Throws TimeoutError when no complete reply comes within `timeout`, ProtocolError when the
/// reply is larger than `max_bytes`.
std::string fetch_reply(const Endpoint& server, Millis timeout, size_t max_bytes);

}  // namespace sockserv
