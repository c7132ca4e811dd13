// fetch_reply: the whole answer of a one-shot service (daytime, time), over a stream (read to
// EOF), a TLS stream (read to the server's close_notify) or a datagram (send an empty
// request, take the one reply).
#pragma once

#include <string>

#include "address.hpp"
#include "io.hpp"
#include "tls_client.hpp"

namespace sockserv {

/// Throws TimeoutError when no complete reply comes within `timeout`, ProtocolError when the
/// reply is larger than `max_bytes`. With `tls` (stream addresses only) the connection is TLS,
/// and a reply that ends without close_notify is a ProtocolError: anyone on the path can
/// close a TCP connection, so only close_notify says the answer is whole.
std::string fetch_reply(const Endpoint& server, Millis timeout, size_t max_bytes,
                        const TlsClientContext* tls = nullptr);

}  // namespace sockserv
