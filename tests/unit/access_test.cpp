// Address ranges (--allow-from, --deny-from) and the per-source counting of AccessPolicy.
#include "access.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <boost/test/unit_test.hpp>
#include <cstring>

#include "error.hpp"

using namespace sockserv;

namespace {

SocketAddress v4(const char* text, uint16_t port = 1000) {
  SocketAddress address;
  auto* in = reinterpret_cast<sockaddr_in*>(&address.storage);
  in->sin_family = AF_INET;
  in->sin_port = htons(port);
  BOOST_REQUIRE(::inet_pton(AF_INET, text, &in->sin_addr) == 1);
  address.length = sizeof(sockaddr_in);
  return address;
}

SocketAddress v6(const char* text, uint16_t port = 1000) {
  SocketAddress address;
  auto* in = reinterpret_cast<sockaddr_in6*>(&address.storage);
  in->sin6_family = AF_INET6;
  in->sin6_port = htons(port);
  BOOST_REQUIRE(::inet_pton(AF_INET6, text, &in->sin6_addr) == 1);
  address.length = sizeof(sockaddr_in6);
  return address;
}

SocketAddress unix_peer() {
  SocketAddress address;
  address.storage.ss_family = AF_UNIX;
  address.length = sizeof(sa_family_t);
  return address;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(access_rules)

BOOST_AUTO_TEST_CASE(ipv4_ranges) {
  Cidr ten = parse_cidr("10.0.0.0/8");
  BOOST_TEST(cidr_contains(ten, v4("10.255.1.2")));
  BOOST_TEST(!cidr_contains(ten, v4("11.0.0.1")));
  Cidr odd = parse_cidr("192.168.1.128/25");
  BOOST_TEST(cidr_contains(odd, v4("192.168.1.200")));
  BOOST_TEST(!cidr_contains(odd, v4("192.168.1.127")));
  BOOST_TEST(cidr_contains(parse_cidr("127.0.0.1"), v4("127.0.0.1")));
  BOOST_TEST(!cidr_contains(parse_cidr("127.0.0.1"), v4("127.0.0.2")));
  BOOST_TEST(cidr_contains(parse_cidr("0.0.0.0/0"), v4("203.0.113.9")));
}

BOOST_AUTO_TEST_CASE(ipv6_ranges) {
  Cidr doc = parse_cidr("2001:db8::/32");
  BOOST_TEST(cidr_contains(doc, v6("2001:db8:1::5")));
  BOOST_TEST(!cidr_contains(doc, v6("2001:db9::1")));
  BOOST_TEST(cidr_contains(parse_cidr("::1"), v6("::1")));
  BOOST_TEST(!cidr_contains(parse_cidr("::1"), v6("::2")));
  BOOST_TEST(cidr_contains(parse_cidr("fe80::/10"), v6("febf::1")));
  BOOST_TEST(!cidr_contains(parse_cidr("fe80::/10"), v6("fec0::1")));
}

BOOST_AUTO_TEST_CASE(v4_rules_match_v4_mapped_peers_of_dual_stack_sockets) {
  // A v4 client of a [::] listener arrives as ::ffff:10.1.2.3.
  BOOST_TEST(cidr_contains(parse_cidr("10.0.0.0/8"), v6("::ffff:10.1.2.3")));
  BOOST_TEST(!cidr_contains(parse_cidr("10.0.0.0/8"), v6("::ffff:11.1.2.3")));
  BOOST_TEST(cidr_contains(parse_cidr("::ffff:10.0.0.0/104"), v4("10.9.9.9")));
  // /0 of v4 is every v4 address, not every v6 one.
  BOOST_TEST(!cidr_contains(parse_cidr("0.0.0.0/0"), v6("2001:db8::1")));
  BOOST_TEST(!cidr_contains(parse_cidr("10.0.0.0/8"), unix_peer()));
}

BOOST_AUTO_TEST_CASE(malformed_ranges_are_usage_errors) {
  for (const char* bad : {"", "10.0.0.0/", "10.0.0.0/33", "::/129", "10.0.0.0/-1", "10.0.0.0/8x",
                          "300.1.1.1", "example.com", "10.0.0/8", "1.2.3.4/ 8", "::1/0x10"}) {
    BOOST_CHECK_THROW(parse_cidr(bad), UsageError);
  }
  BOOST_CHECK_NO_THROW(parse_cidr("::/0"));
  BOOST_CHECK_NO_THROW(parse_cidr("1.2.3.4/32"));
}

BOOST_AUTO_TEST_CASE(deny_wins_over_allow_and_unix_peers_pass) {
  AccessSettings settings;
  settings.allow = {parse_cidr("10.0.0.0/8")};
  settings.deny = {parse_cidr("10.0.0.66")};
  AccessPolicy policy(settings);
  BOOST_TEST(!policy.check(v4("10.0.0.1")));
  BOOST_TEST(policy.check(v4("10.0.0.66")).value() == "matches --deny-from");
  BOOST_TEST(policy.check(v4("192.0.2.1")).value() == "not in --allow-from");
  BOOST_TEST(!policy.check(unix_peer()));
}

BOOST_AUTO_TEST_CASE(per_source_counts_open_and_closed_requests) {
  AccessSettings settings;
  settings.max_per_source = 2;
  AccessPolicy policy(settings);
  BOOST_TEST(!policy.check(v4("192.0.2.1", 1)));
  policy.opened(1, v4("192.0.2.1", 1));
  BOOST_TEST(!policy.check(v4("192.0.2.1", 2)));
  policy.opened(2, v4("192.0.2.1", 2));
  BOOST_TEST(policy.in_flight("192.0.2.1") == 2u);
  BOOST_TEST(policy.check(v4("192.0.2.1", 3)).has_value());
  BOOST_TEST(!policy.check(v4("192.0.2.2", 3)), "another source has its own count");
  policy.closed(1);
  policy.closed(1);   // twice: no harm
  policy.closed(99);  // unknown: no harm
  BOOST_TEST(policy.in_flight("192.0.2.1") == 1u);
  BOOST_TEST(!policy.check(v4("192.0.2.1", 4)));
}

BOOST_AUTO_TEST_CASE(rate_counts_admitted_requests_per_source) {
  AccessSettings settings;
  settings.max_rate = 3;
  AccessPolicy policy(settings);
  int admitted = 0;
  for (int i = 0; i < 10; ++i) admitted += policy.check(v4("198.51.100.7")) ? 0 : 1;
  BOOST_TEST(admitted == 3);
  BOOST_TEST(!policy.check(v6("2001:db8::7")), "another source has its own rate");
}

BOOST_AUTO_TEST_SUITE_END()
