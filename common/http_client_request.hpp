// What http-client sends: the request it builds from the command line, its bytes on the wire
// (RFC 9112 3), and the request that follows a redirect (RFC 9110 15.4), as curl -L does.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http_response.hpp"
#include "url.hpp"

namespace sockserv {

struct ClientRequest {
  std::string method = "GET";  // GET, HEAD or POST
  Url url;
  std::vector<HttpField> fields;  // the user's own (-H), sent after the defaults they keep
  std::string content_type;       // of the body; "" when there is none
  std::string body;               // sent with its Content-Length when content_type is set
};

/// Parses a -H argument "Name: value". An empty value ("Accept:") asks to leave out a field
/// http-client would send. Throws std::invalid_argument naming the problem: not a token
/// name, a control character (a CR or LF would inject a field), or Content-Length /
/// Transfer-Encoding, which only the body decides.
HttpField parse_header_option(std::string_view text);

/// The request's bytes: request line, Host, User-Agent (sockserv-http-client/VERSION),
/// Accept and Connection: close (each
/// unless the user gave the field, which then replaces it), the user's fields, the body.
std::string format_request(const ClientRequest& request);

/// True for the statuses that redirect with a Location: 301, 302, 303, 307, 308.
bool is_redirect(int status);

/// The request that follows `head`, a redirect answering `request`: Location resolved against
/// the request's URL; 303 (and 301/302 after POST) turn into a GET without body, as browsers
/// and curl do, 307/308 keep method and body; credentials (Authorization, Cookie) and a Host
/// of the user's do not go to another host. Throws HttpResponseError without a Location,
/// UrlError (UnsupportedScheme) when it cannot be followed.
ClientRequest redirect_request(const ClientRequest& request, const ResponseHead& head);

}  // namespace sockserv
