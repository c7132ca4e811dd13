// One request and response on a connection of their own.
#include "http_exchange.hpp"

#include <array>
#include <cstdio>

#include "address.hpp"
#include "error.hpp"
#include "http_chunked.hpp"
#include "timed_connect.hpp"

namespace sockserv {
namespace {

// Interim responses (103 Early Hints...) before the final one: a few, not an endless stream.
constexpr int kMaxInterimResponses = 16;
constexpr size_t kReadSize = 64 * 1024;

std::string seconds_text(Millis timeout) {
  char text[32];
  std::snprintf(text, sizeof text, "%g s", static_cast<double>(timeout.count()) / 1000);
  return text;
}

// The host's addresses; a name that does not resolve is HostNotFound (its own exit status).
std::vector<SocketAddress> host_addresses(const Url& url) {
  Endpoint endpoint;
  endpoint.host = url.host;
  endpoint.port = url.port;
  try {
    return addresses_of(endpoint);
  } catch (const std::system_error&) {
    throw;
  } catch (const std::runtime_error& e) {
    throw HostNotFound(e.what());  // getaddrinfo's own words: "Name or service not known"
  }
}

// Tries each address until one accepts, all within one deadline; then TLS for https://.
ClientStream connect_any(const Url& url, Millis timeout, const TlsClientContext* tls) {
  try {
    ClientStream stream(connect_within(host_addresses(url), url.authority(), timeout), timeout);
    if (url.tls) {
      if (tls == nullptr) throw std::logic_error("https:// without a TLS context");
      stream.start_tls(*tls, url.host);
    }
    return stream;
  } catch (const TimeoutError& e) {
    throw TimeoutError(std::string(e.what()) + " (--timeout)");
  }
}

}  // namespace

HttpExchange::HttpExchange(const ClientRequest& request, Millis timeout,
                           const TlsClientContext* tls)
    : server_(request.url.authority()),
      stream_(connect_any(request.url, timeout, tls)),
      timeout_(timeout),
      head_request_(request.method == "HEAD") {
  stream_.write_all(as_bytes(format_request(request)), Deadline::after_or_never(timeout_));
}

size_t HttpExchange::receive() {
  std::array<char, kReadSize> buffer;
  try {
    size_t n = stream_.read_some(std::as_writable_bytes(std::span(buffer)),
                                 Deadline::after_or_never(timeout_));
    pending_.append(buffer.data(), n);
    return n;
  } catch (const TimeoutError&) {
    throw TimeoutError(server_ + " sent nothing for " + seconds_text(timeout_) + " (--timeout)");
  }
}

const ResponseHead& HttpExchange::read_head() {
  for (int interim = 0;; ++interim) {
    std::optional<size_t> end;
    for (size_t searched = 0; !(end = find_head_end(pending_, searched));) {
      searched = pending_.size();
      if (receive() == 0) {
        throw HttpResponseError(pending_.empty()
                                    ? server_ + " closed the connection without a response"
                                    : server_ + " closed the connection inside the response head");
      }
    }
    std::string_view head(pending_.data(), *end);
    head_ = parse_response_head(head);
    raw_heads_.append(head);
    pending_.erase(0, *end);
    if (head_.status >= 200) break;
    if (head_.status == 101) throw HttpResponseError("switching protocols (101) was not asked for");
    if (interim == kMaxInterimResponses)
      throw HttpResponseError("more than " + std::to_string(kMaxInterimResponses) +
                              " interim responses");
  }
  framing_ = body_framing(head_, head_request_);
  return head_;
}

std::optional<uint64_t> HttpExchange::body_length() const {
  if (framing_.kind == BodyFraming::Kind::length) return framing_.length;
  if (framing_.kind == BodyFraming::Kind::none) return 0;
  return std::nullopt;
}

void HttpExchange::read_body(const BodySink& sink) {
  switch (framing_.kind) {
    case BodyFraming::Kind::none:
      return;
    case BodyFraming::Kind::length:
      return read_length_body(framing_.length, sink);
    case BodyFraming::Kind::chunked:
      return read_chunked_body(sink);
    case BodyFraming::Kind::until_close:
      return read_until_close(sink);
  }
}

void HttpExchange::read_length_body(uint64_t length, const BodySink& sink) {
  uint64_t received = 0;
  while (received < length) {
    if (pending_.empty() && receive() == 0) {
      throw HttpResponseError(server_ + " closed the connection after " + std::to_string(received) +
                              " of " + std::to_string(length) + " body bytes (Content-Length)");
    }
    size_t n = static_cast<size_t>(std::min<uint64_t>(length - received, pending_.size()));
    sink(std::string_view(pending_).substr(0, n));
    received += n;
    pending_.clear();  // what follows the body is not ours: one request per connection
  }
}

void HttpExchange::read_chunked_body(const BodySink& sink) {
  ChunkedDecoder decoder;
  while (!decoder.done()) {
    if (pending_.empty() && receive() == 0) {
      throw HttpResponseError(server_ + " closed the connection inside the chunked body, after " +
                              std::to_string(decoder.body_bytes()) + " body bytes");
    }
    decoder.feed(pending_, sink);
    pending_.clear();
  }
  trailers_ = decoder.trailers();
}

void HttpExchange::read_until_close(const BodySink& sink) {
  // No length and no chunks: the body is everything until the server closes (HTTP/1.0 style).
  while (!pending_.empty() || receive() != 0) {
    sink(pending_);
    pending_.clear();
  }
  // Over TLS only close_notify proves that this is the end: a bare TCP close may be an
  // attacker cutting the body short (a truncation attack).
  if (!stream_.closed_cleanly())
    throw HttpResponseError(server_ +
                            " closed the TLS connection without close_notify: the body "
                            "(delimited by the close) may be truncated");
}

}  // namespace sockserv
