// Address parsing and printing, without any socket.
#include "address.hpp"

#include <netinet/in.h>

#include <boost/test/unit_test.hpp>
#include <cstring>

#include "error.hpp"

using namespace sockserv;

BOOST_AUTO_TEST_SUITE(address)

BOOST_AUTO_TEST_CASE(good_forms) {
  Endpoint e = parse_endpoint("127.0.0.1:7");
  BOOST_TEST((e.transport == Transport::tcp));
  BOOST_TEST(e.host == "127.0.0.1");
  BOOST_TEST(e.port == 7);

  e = parse_endpoint("[::1]:8080");
  BOOST_TEST(e.host == "::1");
  BOOST_TEST(e.port == 8080);
  BOOST_TEST(to_string(e) == "[::1]:8080");

  e = parse_endpoint("tcp:localhost:0");
  BOOST_TEST((e.transport == Transport::tcp));
  BOOST_TEST(e.host == "localhost");

  e = parse_endpoint("udp:[::]:65535");
  BOOST_TEST((e.transport == Transport::udp));
  BOOST_TEST(e.port == 65535);
  BOOST_TEST(to_string(e) == "udp:[::]:65535");

  e = parse_endpoint("unix:/run/sockserv/echo.sock");
  BOOST_TEST((e.transport == Transport::unix_stream));
  BOOST_TEST(e.path == "/run/sockserv/echo.sock");
  BOOST_TEST(to_string(e) == "unix:/run/sockserv/echo.sock");

  e = parse_endpoint("unixgram:relative/path");
  BOOST_TEST((e.transport == Transport::unix_dgram));
  BOOST_TEST(e.path == "relative/path");
}

BOOST_AUTO_TEST_CASE(bad_forms_are_usage_errors) {
  for (const char* bad :
       {"", "7", "127.0.0.1", "127.0.0.1:", ":7", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:7x",
        "::1:7", "[::1:7", "[::1]7", "[]:7", "unix:", "unixgram:", "udp:", "tcp:1.2.3.4"}) {
    BOOST_CHECK_THROW(parse_endpoint(bad), UsageError);
  }
  std::string long_path = "unix:/" + std::string(200, 'x');
  BOOST_CHECK_THROW(parse_endpoint(long_path), UsageError);
}

BOOST_AUTO_TEST_CASE(ports) {
  BOOST_TEST(parse_port("0") == 0);
  BOOST_TEST(parse_port("65535") == 65535);
  BOOST_CHECK_THROW(parse_port("65536"), UsageError);
  BOOST_CHECK_THROW(parse_port(" 1"), UsageError);
  BOOST_CHECK_THROW(parse_port("0x10"), UsageError);
}

BOOST_AUTO_TEST_CASE(mapped_ipv4_prints_as_ipv4) {
  sockaddr_in6 in6{};
  in6.sin6_family = AF_INET6;
  in6.sin6_port = htons(5000);
  unsigned char mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1};
  std::memcpy(&in6.sin6_addr, mapped, 16);
  SocketAddress address;
  std::memcpy(&address.storage, &in6, sizeof in6);
  address.length = sizeof in6;
  BOOST_TEST(to_string(address) == "127.0.0.1:5000");
  BOOST_TEST(host_of(address) == "127.0.0.1");
}

BOOST_AUTO_TEST_CASE(resolve_numeric_never_looks_up) {
  std::vector<SocketAddress> v = resolve(parse_endpoint("127.0.0.1:9"), false);
  BOOST_REQUIRE(!v.empty());
  BOOST_TEST(to_string(v.front()) == "127.0.0.1:9");
  BOOST_TEST(to_string(unix_address("/tmp/x")) == "unix:/tmp/x");
}

BOOST_AUTO_TEST_SUITE_END()
