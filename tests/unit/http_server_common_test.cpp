// The HTTP request parser, response heads, dates, and the static-file helpers (ranges,
// validators, Accept-Encoding, MIME types, gzip), without sockets.
#include <zlib.h>

#include <boost/test/unit_test.hpp>
#include <string>

#include "access_log.hpp"
#include "http_reply.hpp"
#include "http_request.hpp"
#include "http_static.hpp"

using namespace sockserv;

namespace {

HeadParse parse(const std::string& head) {
  HeadScan scan = scan_http_head(head);
  BOOST_REQUIRE(scan.status == HeadScan::Status::complete);
  BOOST_REQUIRE_EQUAL(scan.length, head.size());
  return parse_http_head(head);
}

int status_of(const std::string& head) {
  HeadParse p = parse(head);
  return p.request ? 200 : p.status;
}

std::string gunzip(const std::string& data) {
  z_stream stream{};
  BOOST_REQUIRE(inflateInit2(&stream, 15 + 16) == Z_OK);
  std::string out(1 << 20, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  BOOST_TEST(inflate(&stream, Z_FINISH) == Z_STREAM_END);
  out.resize(stream.total_out);
  inflateEnd(&stream);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(http_server_common)

BOOST_AUTO_TEST_CASE(scan_finds_the_end_of_the_head_and_keeps_what_follows) {
  std::string two = "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\n";
  HeadScan scan = scan_http_head(two);
  BOOST_TEST((scan.status == HeadScan::Status::complete));
  BOOST_TEST(two.substr(scan.length) == "GET /b HTTP/1.1\r\n");
  BOOST_TEST(
      (scan_http_head("GET / HTTP/1.1\r\nHost: x\r\n").status == HeadScan::Status::incomplete));
  BOOST_TEST((scan_http_head("GET / HTTP/1.0\n\n").status == HeadScan::Status::complete));
  BOOST_TEST(skip_leading_empty_lines("\r\n\nGET") == 3u);
}

BOOST_AUTO_TEST_CASE(scan_refuses_a_long_request_line_with_414_and_long_fields_with_431) {
  std::string line(kMaxRequestLine + 2, 'a');
  HeadScan long_line = scan_http_head(line);
  BOOST_TEST((long_line.status == HeadScan::Status::too_long && long_line.error == 414));
  std::string exact = "GET /" + std::string(kMaxRequestLine - 15, 'a') + " HTTP/1.1\r\n";
  BOOST_TEST((scan_http_head(exact).status == HeadScan::Status::incomplete));  // 8 KiB is fine
  std::string field = "GET / HTTP/1.1\r\nX: " + std::string(kMaxHeaderBytes, 'b') + "\r\n\r\n";
  HeadScan big = scan_http_head(field);
  BOOST_TEST((big.status == HeadScan::Status::too_long && big.error == 431));
  std::string many = "GET / HTTP/1.1\r\n";
  for (size_t i = 0; i <= kMaxHeaderFields; ++i) many += "X: y\r\n";
  BOOST_TEST(scan_http_head(many + "\r\n").error == 431);
  // Undecided, the bytes held never pass kMaxHeadBytes.
  std::string unfinished = "GET / HTTP/1.1\r\nX: " + std::string(kMaxHeaderBytes + 3, 'c');
  BOOST_TEST(scan_http_head(unfinished).error == 431);
}

BOOST_AUTO_TEST_CASE(a_good_request_is_parsed_and_its_path_decoded_once) {
  HeadParse p = parse(
      "GET /a%20b/%252e?q=%00 HTTP/1.1\r\nHost: example.com:80\r\n"
      "Accept-Encoding:  gzip, br \r\nConnection: Keep-Alive, Upgrade\r\n\r\n");
  BOOST_REQUIRE(p.request);
  BOOST_TEST(p.request->path == "/a b/%2e");
  BOOST_TEST(p.request->raw_path == "/a%20b/%252e");
  BOOST_TEST(*p.request->header("accept-encoding") == "gzip, br");
  BOOST_TEST(p.request->keep_alive());
  BOOST_TEST(p.request_line == "GET /a%20b/%252e?q=%00 HTTP/1.1");
  HeadParse absolute = parse("HEAD http://h:8080 HTTP/1.1\r\nHost: h:8080\r\n\r\n");
  BOOST_REQUIRE(absolute.request);
  BOOST_TEST(absolute.request->path == "/");
  BOOST_TEST(absolute.request->is_head());
}

BOOST_AUTO_TEST_CASE(keep_alive_follows_the_version_and_the_connection_header) {
  BOOST_TEST(parse("GET / HTTP/1.1\r\nHost: x\r\n\r\n").request->keep_alive());
  BOOST_TEST(
      !parse("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").request->keep_alive());
  BOOST_TEST(!parse("GET / HTTP/1.0\r\n\r\n").request->keep_alive());
  BOOST_TEST(parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").request->keep_alive());
  BOOST_TEST(parse("GET / HTTP/1.7\r\nHost: x\r\n\r\n").request->minor_version == 1);
}

BOOST_AUTO_TEST_CASE(bad_requests_get_the_status_that_names_the_fault) {
  BOOST_TEST(status_of("POST / HTTP/1.1\r\nHost: x\r\n\r\n") == 501);
  BOOST_TEST(status_of("get / HTTP/1.1\r\nHost: x\r\n\r\n") == 501);  // methods are case-sensitive
  BOOST_TEST(status_of("GET / HTTP/2.0\r\nHost: x\r\n\r\n") == 505);
  BOOST_TEST(status_of("GET / HTTP/0.9\r\nHost: x\r\n\r\n") == 505);
  BOOST_TEST(status_of("GET / HTTP/1.1\r\n\r\n") == 400);
  BOOST_TEST(status_of("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n") == 400);
  BOOST_TEST(status_of("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n") == 400);
  BOOST_TEST(status_of("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n") == 413);
  BOOST_TEST(status_of("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n") == 200);
  BOOST_TEST(
      status_of("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n") ==
      400);
  BOOST_TEST(status_of("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n") == 400);
  BOOST_TEST(status_of("GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n") == 413);
  BOOST_TEST(status_of("GET / HTTP/1.1\r\nHost: x\r\nA: b\r\n c\r\n\r\n") == 400);  // obs-fold
  BOOST_TEST(status_of("GET / HTTP/1.1\r\nHost : x\r\n\r\n") == 400);
  BOOST_TEST(status_of("GET / HTTP/1.1\r\nHost: x\r\nA: b\x01\r\n\r\n") == 400);
  BOOST_TEST(status_of("GET /a\rb HTTP/1.1\r\nHost: x\r\n\r\n") == 400);
  BOOST_TEST(status_of("GET /%4 HTTP/1.1\r\nHost: x\r\n\r\n") == 400);
  BOOST_TEST(status_of("GET * HTTP/1.1\r\nHost: x\r\n\r\n") == 400);
  BOOST_TEST(status_of("GET /#frag HTTP/1.1\r\nHost: x\r\n\r\n") == 400);
  BOOST_TEST(status_of("GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n") == 400);
  BOOST_TEST(status_of("GET /\xff HTTP/1.1\r\nHost: x\r\n\r\n") == 400);
}

BOOST_AUTO_TEST_CASE(percent_decoding_is_strict) {
  BOOST_TEST(*percent_decode("%41%2f+") == "A/+");
  BOOST_TEST(!percent_decode("%"));
  BOOST_TEST(!percent_decode("%4"));
  BOOST_TEST(!percent_decode("%g0"));
  BOOST_TEST(*percent_decode("%00") == std::string(1, '\0'));
}

BOOST_AUTO_TEST_CASE(ranges_as_rfc_9110_reads_them) {
  auto is = [](RangeRequest r, RangeRequest::Kind kind, uint64_t first = 0, uint64_t last = 0) {
    return r.kind == kind &&
           (kind != RangeRequest::Kind::satisfiable || (r.first == first && r.last == last));
  };
  using K = RangeRequest::Kind;
  BOOST_TEST(is(parse_range("bytes=0-99", 1000), K::satisfiable, 0, 99));
  BOOST_TEST(is(parse_range("bytes=900-", 1000), K::satisfiable, 900, 999));
  BOOST_TEST(is(parse_range("bytes=900-5000", 1000), K::satisfiable, 900, 999));
  BOOST_TEST(is(parse_range("bytes=-10", 1000), K::satisfiable, 990, 999));
  BOOST_TEST(is(parse_range("bytes=-5000", 1000), K::satisfiable, 0, 999));
  BOOST_TEST(is(parse_range("bytes=1000-", 1000), K::unsatisfiable));
  BOOST_TEST(is(parse_range("bytes=-0", 1000), K::unsatisfiable));
  BOOST_TEST(is(parse_range("bytes=0-", 0), K::unsatisfiable));
  BOOST_TEST(is(parse_range("bytes=5-1", 1000), K::ignore));
  BOOST_TEST(is(parse_range("bytes=0-1,5-6", 1000), K::ignore));
  BOOST_TEST(is(parse_range("items=0-1", 1000), K::ignore));
  BOOST_TEST(is(parse_range("bytes=99999999999999999999-", 1000), K::ignore));
}

BOOST_AUTO_TEST_CASE(validators_encodings_and_types) {
  BOOST_TEST(none_match_hits("\"a\", W/\"b\"", "\"b\""));
  BOOST_TEST(none_match_hits("*", "\"b\""));
  BOOST_TEST(!none_match_hits("\"a\"", "\"b\""));
  BOOST_TEST(accepts_gzip("gzip, deflate, br"));
  BOOST_TEST(accepts_gzip("*"));
  BOOST_TEST(!accepts_gzip("gzip;q=0, *"));
  BOOST_TEST(!accepts_gzip("identity"));
  BOOST_TEST(!accepts_gzip(""));
  BOOST_TEST(mime_type("a/index.HTML") == "text/html; charset=utf-8");
  BOOST_TEST(mime_type("x.tar.gz") == "application/gzip");
  BOOST_TEST(mime_type("noext") == "application/octet-stream");
  BOOST_TEST(mime_type(".bashrc") == "application/octet-stream");
  BOOST_TEST(is_compressible(mime_type("a.css")));
  BOOST_TEST(!is_compressible(mime_type("a.png")));
  std::string text(10000, 'x');
  std::string packed = gzip_bytes(text);
  BOOST_TEST(packed.substr(0, 2) == "\x1f\x8b");
  BOOST_TEST(gunzip(packed) == text);
}

BOOST_AUTO_TEST_CASE(dates_in_the_three_formats_a_server_must_read) {
  BOOST_TEST(http_date(784111777) == "Sun, 06 Nov 1994 08:49:37 GMT");
  BOOST_TEST(*parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT") == 784111777);
  BOOST_TEST(*parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT") == 784111777);
  BOOST_TEST(*parse_http_date("Sun Nov  6 08:49:37 1994") == 784111777);
  BOOST_TEST(!parse_http_date("yesterday"));
  BOOST_TEST(!parse_http_date("Sun, 06 Nov 1994 08:49:37 CET"));
  BOOST_TEST(!parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT trailing"));
}

BOOST_AUTO_TEST_CASE(responses_and_error_pages_carry_no_client_text) {
  HttpResponse r;
  r.status = 404;
  r.content_type = "text/html";
  r.content_length = 5;
  r.close = true;
  std::string head = format_response_head(r, 784111777);
  BOOST_TEST(head.starts_with("HTTP/1.1 404 Not Found\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n"));
  BOOST_TEST(head.find("Content-Length: 5\r\n") != std::string::npos);
  BOOST_TEST(head.ends_with("Connection: close\r\n\r\n"));
  BOOST_TEST(error_page(431).find("431 Request Header Fields Too Large") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(clf_lines_escape_the_request_line_and_fit_one_write) {
  RequestLogEntry entry;
  entry.peer.storage.ss_family = AF_UNIX;
  entry.peer.length = sizeof(sa_family_t);
  entry.request_line = "GET /\"\\\n\x1b HTTP/1.1";
  entry.status = 200;
  std::string line = format_clf_line(entry, 784111777);
  BOOST_TEST(line.find("\"GET /\\\"\\\\\\x0a\\x1b HTTP/1.1\" 200 -\n") != std::string::npos, line);
  BOOST_TEST(line.starts_with("- - - ["));
  entry.request_line = std::string(10000, '\x01');
  line = format_clf_line(entry, 784111777);
  BOOST_TEST(line.size() <= kMaxAccessLine);
  BOOST_TEST(line.ends_with("\" 200 -\n"));
  BOOST_TEST(line.find("\\x0\"") == std::string::npos);  // never half an escape
}

BOOST_AUTO_TEST_SUITE_END()
