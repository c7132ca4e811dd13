// Building requests and following redirects.
#include "http_client_request.hpp"

#include <algorithm>
#include <stdexcept>

#include "program.hpp"

namespace sockserv {
namespace {

bool user_gave(const ClientRequest& request, std::string_view name) {
  return std::any_of(request.fields.begin(), request.fields.end(),
                     [&](const HttpField& field) { return equal_ignoring_case(field.name, name); });
}

void add_field(std::string& out, std::string_view name, std::string_view value) {
  out.append(name).append(": ").append(value).append("\r\n");
}

bool is_credential(std::string_view name) {
  return equal_ignoring_case(name, "Authorization") || equal_ignoring_case(name, "Cookie") ||
         equal_ignoring_case(name, "Proxy-Authorization") || equal_ignoring_case(name, "Host");
}

}  // namespace

HttpField parse_header_option(std::string_view text) {
  // The line is checked as a response line would be; its own words for the user's mistakes.
  HttpField field;
  try {
    field = parse_field_line(text);
  } catch (const HttpResponseError&) {
    throw std::invalid_argument("bad header '" + std::string(text) +
                                "': expected 'Name: value' without control characters");
  }
  if (equal_ignoring_case(field.name, "Content-Length") ||
      equal_ignoring_case(field.name, "Transfer-Encoding"))
    throw std::invalid_argument(field.name + " is set by http-client from the body (-d, -F)");
  return field;
}

std::string format_request(const ClientRequest& request) {
  std::string out = request.method + " " + request.url.target + " HTTP/1.1\r\n";
  // One request per connection: "Connection: close" tells the server not to wait for more.
  std::vector<HttpField> defaults{{"Host", request.url.authority()},
                                  {"User-Agent", std::string("sockserv-http-client/") + kVersion},
                                  {"Accept", "*/*"},
                                  {"Connection", "close"}};
  if (!request.content_type.empty()) defaults.push_back({"Content-Type", request.content_type});
  for (const HttpField& field : defaults)
    if (!user_gave(request, field.name)) add_field(out, field.name, field.value);
  for (const HttpField& field : request.fields)
    if (!field.value.empty()) add_field(out, field.name, field.value);
  if (!request.content_type.empty())
    add_field(out, "Content-Length", std::to_string(request.body.size()));
  out += "\r\n";
  return out + request.body;
}

bool is_redirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

ClientRequest redirect_request(const ClientRequest& request, const ResponseHead& head) {
  const std::string* location = head.find("Location");
  if (location == nullptr || location->empty())
    throw HttpResponseError("redirect " + std::to_string(head.status) + " without a Location");
  ClientRequest next = request;
  next.url = resolve_reference(request.url, *location);
  bool to_get = head.status == 303
                    ? request.method != "HEAD"
                    : (head.status == 301 || head.status == 302) && request.method == "POST";
  if (to_get) {
    next.method = "GET";
    next.body.clear();
    next.content_type.clear();
  }
  if (!next.url.same_origin(request.url)) {
    std::erase_if(next.fields, [](const HttpField& field) { return is_credential(field.name); });
  }
  return next;
}

}  // namespace sockserv
