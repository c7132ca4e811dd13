// One HTTP/1.x connection from the server's side: request heads read within their limits and
// deadline, answers written in order, kept alive between requests (RFC 9112 9.3).
//
// The bytes a client sends after one request's head (a pipelined request, sent in the same
// write) stay in the reader's buffer and are the start of the next request: answers go out
// in the order the requests came. The head of a request must arrive whole within
// --message-timeout of its first byte (of the connection, for the first request), else 408
// and the connection is closed: a client trickling bytes (slowloris) holds a slot for no
// longer than that. Between requests the connection waits --keepalive-timeout, then closes
// quietly, as browsers expect.
#pragma once

#include <functional>
#include <string>

#include "connection.hpp"
#include "http_reply.hpp"
#include "http_request.hpp"

namespace sockserv {

/// The answer to one parsed GET or HEAD (the session leaves the body out for HEAD).
using HttpResponder = std::function<HttpReply(const HttpRequest&)>;

struct HttpSessionSettings {
  Millis keepalive_timeout{5000};  // wait for the next request; 0: close after each answer
  bool offload = false;            // the responder waits for the disk: run it through io().offload
};

/// Serves the requests of `connection` until the client closes, asks to close (or speaks
/// HTTP/1.0 without keep-alive), the keep-alive wait runs out, the server stops, or a
/// request is refused (400, 408, 413, 414, 431, 501, 505: answered, then closed). Writes a
/// Common Log Format line per answer when the connection has an access log.
void serve_http(Connection& connection, const HttpResponder& respond,
                const HttpSessionSettings& settings);

}  // namespace sockserv
