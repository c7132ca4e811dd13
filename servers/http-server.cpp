// http-server: HTTP/1.1 and 1.0, GET and HEAD (RFC 9110, RFC 9112; seed 002's "Hello World"
// web server, done so that a browser, curl and an administrator can trust it).
//
// Without --root, "/" is a hello page and everything else is 404. With --root DIR it serves
// the files of DIR: index.html for a directory (301 to the name with its slash first),
// Content-Type by extension, 304 for If-None-Match/If-Modified-Since, one byte range (206,
// 416), bodies with sendfile(2), and gzip for text types with --gzip. Connections are kept
// alive (--keepalive-timeout) and pipelined requests answered in order; heads are limited
// to 8 KiB of request line and 8 KiB of fields, and must arrive within --message-timeout.
// The request reading lives in common/http_session, the parser in common/http_request, the
// files in common/http_static. --access-log writes one Common Log Format line per request.
//
// Try it:   http-server --listen 127.0.0.1:8080 --root /usr/share/doc --gzip
//           curl -v http://127.0.0.1:8080/      (or: python3 -c 'import http.client; ...')
#include <sys/stat.h>

#include "http_session.hpp"
#include "http_static.hpp"
#include "run.hpp"

using namespace sockserv;

namespace {

constexpr std::string_view kHelloPage =
    "<!DOCTYPE html>\n<html><head><title>Hello World</title></head>\n"
    "<body><h1>Hello World</h1><p>sockserv http-server</p></body></html>\n";

struct HttpSettings {
  std::string root;
  bool gzip = false;
  double keepalive_seconds = 5;
  void add_options(po::options_description& desc) {
    desc.add_options()("root", po::value(&root),
                       "serve the files of this directory (without it: a hello page at /)")(
        "gzip", po::bool_switch(&gzip),
        "compress text types for clients that send Accept-Encoding: gzip")(
        "keepalive-timeout", po::value(&keepalive_seconds)->default_value(keepalive_seconds),
        "seconds a connection waits for its next request (0: one request per connection)");
  }
  void validate() {
    keepalive = seconds_option(keepalive_seconds, "keepalive-timeout");
    struct stat st {};
    if (!root.empty() && (::stat(root.c_str(), &st) < 0 || !S_ISDIR(st.st_mode)))
      throw UsageError("--root " + root + " is not a directory");
  }
  Millis keepalive{5000};
};

// The page of a server without --root: "/" (and "/index.html"), nothing else.
HttpReply hello(const HttpRequest& request) {
  if (request.path != "/" && request.path != "/index.html") return error_reply(404);
  HttpReply reply;
  reply.response.content_type = "text/html; charset=utf-8";
  reply.body = kHelloPage;
  reply.response.content_length = reply.body.size();
  return reply;
}

class HttpHandler : public StreamHandler {
 public:
  using Settings = HttpSettings;
  HttpHandler(Connection& connection, const HttpSettings& settings)
      : StreamHandler(connection), settings_(settings) {}

  void handle() override {
    HttpSessionSettings session{.keepalive_timeout = settings_.keepalive};
    if (settings_.root.empty()) {
      serve_http(connection_, hello, session);
      return;
    }
    // Opened per connection, off the event loop: a replaced root is picked up.
    ServedTree tree = offloaded(connection_.io(), [&] { return ServedTree(settings_.root); });
    StaticOptions files{.gzip = settings_.gzip};
    session.offload = true;  // opening and compressing files waits for the disk
    serve_http(
        connection_,
        [&](const HttpRequest& request) {
          return serve_static(tree, request, files, connection_.peer_name());
        },
        session);
  }

 private:
  const HttpSettings& settings_;
};

}  // namespace

int main(int argc, char** argv) {
  return run<HttpHandler>({.name = "http-server",
                           .port = 8080,
                           .summary = "HTTP/1.1 server: a hello page, or static files (--root).",
                           .chroot_option = true,
                           .request_log = true},
                          argc, argv);
}
