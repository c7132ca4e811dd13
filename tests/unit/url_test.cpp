// http:// URLs and the resolution of redirect Locations, without any socket.
#include "url.hpp"

#include <boost/test/unit_test.hpp>

using namespace sockserv;

BOOST_AUTO_TEST_SUITE(url)

BOOST_AUTO_TEST_CASE(hosts_ports_and_targets) {
  Url u = parse_url("http://example.org");
  BOOST_TEST(u.host == "example.org");
  BOOST_TEST(u.port == 80);
  BOOST_TEST(u.target == "/");
  BOOST_TEST(u.authority() == "example.org");

  u = parse_url("HTTP://127.0.0.1:8080/a/b?x=1&y=2#frag");
  BOOST_TEST(u.host == "127.0.0.1");
  BOOST_TEST(u.port == 8080);
  BOOST_TEST(u.target == "/a/b?x=1&y=2");  // the fragment never leaves the client
  BOOST_TEST(u.text() == "http://127.0.0.1:8080/a/b?x=1&y=2");

  u = parse_url("http://[::1]:8080/");
  BOOST_TEST(u.host == "::1");
  BOOST_TEST(u.authority() == "[::1]:8080");
  u = parse_url("http://[2001:db8::1]?q");
  BOOST_TEST(u.host == "2001:db8::1");
  BOOST_TEST(u.port == 80);
  BOOST_TEST(u.target == "/?q");
  BOOST_TEST(u.authority() == "[2001:db8::1]");

  u = parse_url("localhost:8000/x");  // no scheme: http://, as curl reads it
  BOOST_TEST(u.host == "localhost");
  BOOST_TEST(u.port == 8000);
  BOOST_TEST(u.target == "/x");
  BOOST_TEST(parse_url("http://h:/").port == 80);
}

BOOST_AUTO_TEST_CASE(bytes_a_request_line_cannot_carry_are_percent_encoded) {
  BOOST_TEST(parse_url("http://h/a b").target == "/a%20b");
  BOOST_TEST(parse_url("http://h/x\r\nHost: evil").target == "/x%0D%0AHost:%20evil");
  BOOST_TEST(parse_url("http://h/验").target == "/%E9%AA%8C");
  BOOST_TEST(parse_url("http://h/%41?a=%20&b=\"").target == "/%41?a=%20&b=%22");
  BOOST_TEST(parse_url("http://h/a/./b/../c").target == "/a/c");
}

BOOST_AUTO_TEST_CASE(https_urls_default_to_port_443) {
  Url url = parse_url("HTTPS://example.org/a");
  BOOST_TEST(url.tls);
  BOOST_TEST(url.port == 443);
  BOOST_TEST(url.authority() == "example.org");
  BOOST_TEST(url.text() == "https://example.org/a");
  BOOST_TEST(parse_url("https://example.org:80/").authority() == "example.org:80");
  BOOST_TEST(parse_url("https://example.org:/").port == 443);
  BOOST_TEST(!parse_url("http://example.org/").tls);
  // Same host and port, another scheme: another origin (credentials do not follow).
  BOOST_TEST(!parse_url("http://h:8443/").same_origin(parse_url("https://h:8443/")));
}

BOOST_AUTO_TEST_CASE(bad_urls_and_other_schemes_are_refused) {
  BOOST_CHECK_THROW(parse_url("ftp://example.org/"), UnsupportedScheme);
  for (const char* bad : {"http://", "http:///x", "http://a b/", "http://[::1/", "http://[x]/",
                          "http://[::1]x/", "http://::1/", "http://h:0/", "http://h:65536/",
                          "http://h:8x/", "http://u:p@h/", "http://h\r\n/"})
    BOOST_CHECK_THROW(parse_url(bad), UrlError);
}

BOOST_AUTO_TEST_CASE(dot_segments_are_removed_as_rfc_3986_says) {
  BOOST_TEST(remove_dot_segments("/a/b/c/./../../g") == "/a/g");
  BOOST_TEST(remove_dot_segments("/mid/content=5/../6") == "/mid/6");
  BOOST_TEST(remove_dot_segments("/a/b/..") == "/a/");
  BOOST_TEST(remove_dot_segments("/a/.") == "/a/");
  BOOST_TEST(remove_dot_segments("/../..") == "/");
  BOOST_TEST(remove_dot_segments("/") == "/");
  BOOST_TEST(remove_dot_segments("/a//b/") == "/a//b/");
}

// RFC 3986 5.4.1 and 5.4.2, the examples a scheme-less http URL can express.
BOOST_AUTO_TEST_CASE(references_resolve_as_rfc_3986_examples_say) {
  Url base = parse_url("http://a/b/c/d;p?q");
  const std::pair<const char*, const char*> examples[] = {
      {"g", "http://a/b/c/g"},
      {"./g", "http://a/b/c/g"},
      {"g/", "http://a/b/c/g/"},
      {"/g", "http://a/g"},
      {"//g", "http://g/"},
      {"?y", "http://a/b/c/d;p?y"},
      {"g?y", "http://a/b/c/g?y"},
      {"#s", "http://a/b/c/d;p?q"},
      {"g#s", "http://a/b/c/g"},
      {";x", "http://a/b/c/;x"},
      {"", "http://a/b/c/d;p?q"},
      {".", "http://a/b/c/"},
      {"./", "http://a/b/c/"},
      {"..", "http://a/b/"},
      {"../g", "http://a/b/g"},
      {"../..", "http://a/"},
      {"../../g", "http://a/g"},
      {"../../../g", "http://a/g"},
      {"/./g", "http://a/g"},
      {"/../g", "http://a/g"},
      {"g.", "http://a/b/c/g."},
      {"..g", "http://a/b/c/..g"},
      {"./../g", "http://a/b/g"},
      {"g/./h", "http://a/b/c/g/h"},
      {"g/../h", "http://a/b/c/h"},
      {"g;x=1/../y", "http://a/b/c/y"},
      {"g?y/./x", "http://a/b/c/g?y/./x"},
      {"http://other:81/x/../y", "http://other:81/y"},
  };
  for (const auto& [reference, expected] : examples)
    BOOST_TEST(resolve_reference(base, reference).text() == expected, "reference " << reference);
  BOOST_TEST(resolve_reference(base, "https://a/").text() == "https://a/");
  BOOST_CHECK_THROW(resolve_reference(base, "ftp://a/"), UnsupportedScheme);
  // A network-path reference keeps the base's scheme (RFC 3986 5.2.2).
  BOOST_TEST(resolve_reference(parse_url("https://a/b"), "//c/d").text() == "https://c/d");
  BOOST_TEST(resolve_reference(parse_url("http://[::1]:8080/a/b"), "c").text() ==
             "http://[::1]:8080/a/c");
}

BOOST_AUTO_TEST_SUITE_END()
