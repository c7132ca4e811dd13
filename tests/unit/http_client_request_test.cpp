// What http-client sends: request bytes, form encoding, -H options, redirects' next request.
#include "http_client_request.hpp"

#include <boost/test/unit_test.hpp>
#include <stdexcept>

#include "http_form.hpp"
#include "program.hpp"

using namespace sockserv;

namespace {

ResponseHead redirect(int status, const std::string& location) {
  ResponseHead head;
  head.status = status;
  head.fields.push_back({"Location", location});
  return head;
}

ClientRequest post(const std::string& url) {
  ClientRequest request;
  request.method = "POST";
  request.url = parse_url(url);
  request.content_type = "application/x-www-form-urlencoded";
  request.body = "a=1";
  request.fields = {{"Authorization", "Basic eDp5"}, {"X-Keep", "1"}};
  return request;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(http_client_request)

BOOST_AUTO_TEST_CASE(form_fields_encode_as_python_urlencode_does) {
  // urllib.parse.urlencode({'msg': '您 a&b=c+d', 'x': '-._~*'}) gives exactly this.
  BOOST_TEST(form_body({{"msg", "您 a&b=c+d"}, {"x", "-._~*"}}) ==
             "msg=%E6%82%A8+a%26b%3Dc%2Bd&x=-._~%2A");
  BOOST_TEST(form_body({}) == "");
  BOOST_TEST(form_encode("100%") == "100%25");
}

BOOST_AUTO_TEST_CASE(a_request_has_its_defaults_unless_the_user_replaces_them) {
  ClientRequest get;
  get.url = parse_url("http://[::1]:8080/p?q");
  BOOST_TEST(format_request(get) ==
             "GET /p?q HTTP/1.1\r\nHost: [::1]:8080\r\nUser-Agent: sockserv-http-client/" +
                 std::string(kVersion) + "\r\nAccept: */*\r\nConnection: close\r\n\r\n");
  get.fields = {parse_header_option("accept:"), parse_header_option("User-Agent: lab")};
  BOOST_TEST(
      format_request(get) ==
      "GET /p?q HTTP/1.1\r\nHost: [::1]:8080\r\nConnection: close\r\nUser-Agent: lab\r\n\r\n");
  std::string sent = format_request(post("http://h/form"));
  BOOST_TEST(sent.find("Content-Type: application/x-www-form-urlencoded\r\n") != std::string::npos);
  BOOST_TEST(sent.substr(sent.size() - 24) == "Content-Length: 3\r\n\r\na=1");
}

BOOST_AUTO_TEST_CASE(header_options_refuse_injection_and_framing_fields) {
  HttpField field = parse_header_option("X-Name:   value  ");
  BOOST_TEST(field.name == "X-Name");
  BOOST_TEST(field.value == "value");
  for (const char* bad : {"X: a\r\nY: b", "X: a\nY", "NoColon", "Bad Name: x", ": x",
                          "content-length: 1", "Transfer-Encoding: chunked", "X: \x1b"})
    BOOST_CHECK_THROW(parse_header_option(bad), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(redirects_change_the_method_as_curl_does) {
  for (int status : {301, 302, 303}) {
    ClientRequest next = redirect_request(post("http://h/a/b"), redirect(status, "c"));
    BOOST_TEST(next.method == "GET", status);
    BOOST_TEST(next.body.empty());
    BOOST_TEST(next.content_type.empty());
    BOOST_TEST(next.url.text() == "http://h/a/c");
  }
  for (int status : {307, 308}) {
    ClientRequest next = redirect_request(post("http://h/a"), redirect(status, "/x"));
    BOOST_TEST(next.method == "POST", status);
    BOOST_TEST(next.body == "a=1");
  }
  ClientRequest head = post("http://h/");
  head.method = "HEAD";
  BOOST_TEST(redirect_request(head, redirect(303, "/x")).method == "HEAD");
  ClientRequest get = post("http://h/");
  get.method = "GET";
  BOOST_TEST(redirect_request(get, redirect(301, "/x")).method == "GET");
  BOOST_TEST(is_redirect(302));
  BOOST_TEST(!is_redirect(304));
  BOOST_TEST(!is_redirect(300));
}

BOOST_AUTO_TEST_CASE(credentials_stay_with_their_host) {
  ClientRequest same = redirect_request(post("http://h:81/"), redirect(307, "http://h:81/z"));
  BOOST_TEST(same.fields.size() == 2u);
  ClientRequest other = redirect_request(post("http://h:81/"), redirect(307, "http://h:82/z"));
  BOOST_TEST_REQUIRE(other.fields.size() == 1u);
  BOOST_TEST(other.fields[0].name == "X-Keep");
  BOOST_CHECK_THROW(redirect_request(post("http://h/"), redirect(302, "")), HttpResponseError);
  BOOST_CHECK_THROW(redirect_request(post("http://h/"), redirect(302, "ftp://h/")),
                    UnsupportedScheme);
  // To https:// on the same host: another origin, so the credentials stay behind too.
  ClientRequest secure = redirect_request(post("http://h:81/"), redirect(307, "https://h:81/z"));
  BOOST_TEST(secure.url.tls);
  BOOST_TEST(secure.fields.size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
