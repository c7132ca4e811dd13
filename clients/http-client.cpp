// http-client: fetches a URL over HTTP/1.1 and prints the body, a small curl (seed 001's
// "browser played by hand", seed 002's SMS form POST).
//
// One connection per request (Connection: close). The body ends where the response says:
// Content-Length, the chunked coding (trailers read and dropped), or the server's close; a
// connection that closes early is an error, never a silently shorter file. https:// URLs are
// fetched over TLS: the certificate is checked against the URL's host (sent as SNI too),
// with the system's CAs or --ca FILE; redirects may go between http:// and https://.
//
// Try it:   http-client http://127.0.0.1:8080/      http-client -L -o page.html http://[::1]:8080/a
//           http-client --ca ca.pem https://localhost:8443/
//           http-client -F 'msg=验证码 147258' -F mobile=1380013 http://127.0.0.1:8000/sms
#include <iostream>

#include "client.hpp"
#include "error.hpp"
#include "escape.hpp"
#include "http_exchange.hpp"
#include "http_form.hpp"
#include "options.hpp"
#include "output_file.hpp"
#include "progress.hpp"
#include "tls_client.hpp"

using namespace sockserv;

namespace {

constexpr int kMaxRedirects = 10;
constexpr int kExitHttpError = 22;  // -f and a 4xx/5xx status: curl's number for the same case

constexpr const char* kExitCodes =
    "Exit status: 0 done (whatever the HTTP status, unless -f); 22 -f and a status of 400 or\n"
    "more; 64 bad command line or URL; 66 --ca, --cert or --key unreadable; 68 host not\n"
    "found; 69 connection failed, TLS certificate refused (unknown CA, expired, wrong name)\n"
    "or a redirect to another scheme than http(s)://; 73 cannot create the -o file; 74\n"
    "cannot write the output; 75 --timeout passed; 76 malformed or truncated response, or\n"
    "more than 10 redirects.";

struct Settings {
  ClientRequest request;
  std::string output;  // -o: "" is stdout
  bool include = false, follow = false, fail = false;
  Millis timeout{0};
  TlsClientSettings tls;  // for https:// URLs, the first one's or a redirect's
};

std::vector<std::string> strings(const po::variables_map& values, const char* name) {
  return values.count(name) ? values[name].as<std::vector<std::string>>()
                            : std::vector<std::string>{};
}

// The form body: -d parts as given (already encoded, as curl's -d), then -F fields encoded.
std::string form_of(const po::variables_map& values) {
  std::vector<std::pair<std::string, std::string>> fields;
  for (const std::string& field : strings(values, "form")) {
    size_t equals = field.find('=');
    if (equals == std::string::npos) throw UsageError("-F wants name=value, not '" + field + "'");
    fields.emplace_back(field.substr(0, equals), field.substr(equals + 1));
  }
  std::string body;
  for (const std::string& part : strings(values, "data")) body += (body.empty() ? "" : "&") + part;
  std::string encoded = form_body(fields);
  return body.empty() || encoded.empty() ? body + encoded : body + "&" + encoded;
}

Settings read_settings(const po::variables_map& values) {
  Settings s;
  try {
    s.request.url = parse_url(values["url"].as<std::string>());
    for (const std::string& header : strings(values, "header"))
      s.request.fields.push_back(parse_header_option(header));
  } catch (const std::exception& e) {  // UrlError, UnsupportedScheme, a bad -H
    throw UsageError(e.what());
  }
  bool posting = values.count("data") != 0U || values.count("form") != 0U;
  if (posting && values["head"].as<bool>()) throw UsageError("-I cannot send -d or -F");
  s.request.method = values["head"].as<bool>() ? "HEAD" : posting ? "POST" : "GET";
  if (posting) {
    s.request.content_type = "application/x-www-form-urlencoded";
    s.request.body = form_of(values);
  }
  s.output = values.count("output") ? values["output"].as<std::string>() : "";
  s.include = values["include"].as<bool>() || values["head"].as<bool>();
  s.follow = values["location"].as<bool>();
  s.fail = values["fail"].as<bool>();
  s.timeout = seconds_option(values["timeout"].as<double>(), "timeout");
  s.tls = tls_client_settings(values, true);  // any URL may redirect to https://
  return s;
}

// The request after a redirect, with the reasons it cannot be followed made exit statuses.
ClientRequest follow(const ClientRequest& request, const ResponseHead& head, int redirects) {
  if (redirects == kMaxRedirects)
    throw HttpResponseError("more than " + std::to_string(kMaxRedirects) + " redirects, the last " +
                            "from " + request.url.text());
  try {
    return redirect_request(request, head);
  } catch (const UnsupportedScheme& e) {
    throw FatalError(EX_UNAVAILABLE,
                     "redirect from " + request.url.text() + " not followed: " + e.what());
  } catch (const UrlError& e) {
    throw HttpResponseError(std::string("bad Location: ") + e.what());
  }
}

int fetch(const Settings& s) {
  OutputFile out(s.output);
  ClientRequest request = s.request;
  std::unique_ptr<TlsClientContext> tls;  // made at the first https:// URL (--insecure warns)
  for (int redirects = 0;; ++redirects) {
    if (request.url.tls && !tls) tls = std::make_unique<TlsClientContext>(s.tls);
    HttpExchange exchange(request, s.timeout, tls.get());
    const ResponseHead& head = exchange.read_head();
    if (s.include) out.write(exchange.raw_heads());
    if (s.follow && is_redirect(head.status) && head.find("Location") != nullptr) {
      request = follow(request, head, redirects);
      continue;  // the redirect's own body is not wanted: its connection just closes
    }
    if (s.fail && head.status >= 400) {
      std::cerr << "http-client: " << request.url.text() << ": HTTP " << head.status << " "
                << escape_text(head.reason, EscapeStyle::terminal) << "\n";
      return kExitHttpError;
    }
    Progress progress(0, out.is_file() ? exchange.body_length() : std::optional<uint64_t>(0));
    exchange.read_body([&](std::string_view bytes) {
      out.write(bytes);
      progress.add(bytes.size());
    });
    progress.finish();
    out.commit();
    return EX_OK;
  }
}

}  // namespace

int main(int argc, char** argv) {
  po::options_description options("http-client options");
  options.add_options()("url", po::value<std::string>()->required(),
                        "http://HOST[:PORT]/PATH or https://HOST[:PORT]/PATH")(
      "include,i", po::bool_switch(), "print the response head before the body")(
      "head,I", po::bool_switch(), "send HEAD and print the response head")(
      "output,o", po::value<std::string>(), "save the body to FILE (written whole, or not at all)")(
      "location,L", po::bool_switch(), "follow redirects (at most 10)")(
      "data,d", po::value<std::vector<std::string>>()->composing(),
      "POST DATA as a form, sent as given (already urlencoded); repeated: joined with &")(
      "form,F", po::value<std::vector<std::string>>()->composing(),
      "POST the form field name=value, urlencoded here (repeatable)")(
      "header,H", po::value<std::vector<std::string>>()->composing(),
      "add the header 'Name: value'; 'Name:' drops one http-client sends (repeatable)")(
      "fail,f", po::bool_switch(), "exit 22, printing no body, when the status is 400 or more")(
      "timeout", non_negative<double>()->default_value(30),
      "seconds to connect, for the TLS handshake, and to wait for each read (0: no limit)");
  add_tls_client_options(options, false);
  po::positional_options_description positional;
  positional.add("url", 1);
  return run_client(
      {"http-client", "[OPTIONS] URL",
       std::string("Fetches an http:// or https:// URL and prints the body.\n") + kExitCodes},
      argc, argv, options, positional, [](const po::variables_map& values) {
        Settings settings = read_settings(values);
        try {
          return fetch(settings);
        } catch (const HostNotFound& e) {
          throw FatalError(EX_NOHOST, e.what());
        }
      });
}
