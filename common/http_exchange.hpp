// HttpExchange: one HTTP/1.1 request and its response over a connection of its own, as
// http-client makes it: connect, send, read the head, then stream the body to a sink.
//
// Where the body ends is the response's to say (RFC 9112 6.3): Content-Length, the chunked
// coding, or the server closing the connection. A connection that closes before the end the
// response announced is an error (HttpResponseError), never a shorter body passed as whole.
#pragma once

#include <array>
#include <cstddef>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "client_stream.hpp"
#include "http_client_request.hpp"
#include "http_response.hpp"
#include "io.hpp"

namespace sockserv {

/// The URL's host name does not resolve (getaddrinfo failed).
struct HostNotFound : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class HttpExchange {
 public:
  using BodySink = std::function<void(std::string_view)>;

  /// Connects to the request's host (each address it resolves to in turn, all within
  /// `timeout`), for an https:// URL runs the TLS handshake with `tls` (SNI and the
  /// certificate checked against the URL's host), and sends the request. `timeout` also
  /// bounds the handshake and every later wait for the server (0: no limit). Throws
  /// HostNotFound, TimeoutError, TlsError, std::system_error (ECONNREFUSED).
  HttpExchange(const ClientRequest& request, Millis timeout, const TlsClientContext* tls);

  /// Reads the response head, skipping interim 1xx responses. Throws HttpResponseError,
  /// TimeoutError, std::system_error.
  const ResponseHead& read_head();
  /// Every head as received, interim ones included (what `http-client -i` prints).
  const std::string& raw_heads() const { return raw_heads_; }
  /// The body's length when the response announced it (Content-Length).
  std::optional<uint64_t> body_length() const;
  /// Reads the whole body into `sink`, piece by piece. Throws HttpResponseError when the
  /// connection closes early or the chunked coding is broken, TimeoutError, system_error.
  void read_body(const BodySink& sink);
  /// The trailer fields of a chunked body (after read_body).
  const std::vector<HttpField>& trailers() const { return trailers_; }

 private:
  size_t receive();  // appends what the server sends next to pending_; 0 at end of stream
  void read_length_body(uint64_t length, const BodySink& sink);
  void read_chunked_body(const BodySink& sink);
  void read_until_close(const BodySink& sink);

  std::string server_;  // the URL's authority, for messages
  ClientStream stream_;
  Millis timeout_;
  bool head_request_;
  ResponseHead head_;
  std::string raw_heads_;
  BodyFraming framing_;
  std::string pending_;  // received, not yet parsed (the start of the body after the head)
  std::vector<HttpField> trailers_;
};

}  // namespace sockserv
