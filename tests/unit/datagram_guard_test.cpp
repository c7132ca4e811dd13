// DatagramGuard (common/datagram_guard): which datagrams may be answered, without sockets.
#include "datagram_guard.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <boost/test/unit_test.hpp>
#include <cstring>

#include "handler.hpp"

using namespace sockserv;
using namespace std::chrono_literals;

namespace {
SocketAddress inet(const char* dotted, uint16_t port) {
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(port);
  BOOST_REQUIRE(::inet_pton(AF_INET, dotted, &in.sin_addr) == 1);
  SocketAddress address;
  std::memcpy(&address.storage, &in, sizeof in);
  address.length = sizeof in;
  return address;
}
using Verdict = DatagramGuard::Verdict;
}  // namespace

BOOST_AUTO_TEST_SUITE(datagram_guard)

BOOST_AUTO_TEST_CASE(a_datagram_from_our_own_address_and_port_is_dropped) {
  DatagramGuard guard({.rate_per_source = 0});
  guard.add_own_port(7007);
  guard.add_own_port(7008);
  auto now = Clock::now();
  SocketAddress us = inet("192.0.2.1", 7007);
  BOOST_TEST((guard.check(inet("192.0.2.1", 7007), us, now) == Verdict::own_address));
  // Our other udp listener on the same address is us too.
  BOOST_TEST((guard.check(inet("192.0.2.1", 7008), us, now) == Verdict::own_address));
  BOOST_TEST((guard.check(inet("192.0.2.2", 7007), us, now) == Verdict::serve));
  BOOST_TEST((guard.check(inet("192.0.2.1", 40000), us, now) == Verdict::serve));
  BOOST_TEST(guard.dropped()[static_cast<size_t>(Verdict::own_address)] == 2u);
}

BOOST_AUTO_TEST_CASE(port_0_and_reflector_ports_are_dropped) {
  DatagramGuard guard({.rate_per_source = 0});
  SocketAddress us = inet("127.0.0.1", 7007);
  for (uint16_t port : {0, 7, 9, 13, 17, 19, 37, 53, 123, 1900, 11211}) {
    BOOST_TEST((guard.check(inet("127.0.0.1", port), us, Clock::now()) == Verdict::reflector_port),
               "port " << port);
  }
  BOOST_TEST((guard.check(inet("127.0.0.1", 40000), us, Clock::now()) == Verdict::serve));
}

BOOST_AUTO_TEST_CASE(a_source_gets_its_burst_then_the_rate) {
  DatagramGuard guard({.rate_per_source = 10});
  SocketAddress us = inet("127.0.0.1", 7007);
  SocketAddress client = inet("198.51.100.7", 40000);
  auto start = Clock::now();
  int served = 0;
  for (int i = 0; i < 1000; ++i) served += guard.check(client, us, start) == Verdict::serve;
  BOOST_TEST(served == 10);  // the burst: one second's worth
  // Another port of the same address shares its bucket: the limit is per address.
  BOOST_TEST((guard.check(inet("198.51.100.7", 40001), us, start) == Verdict::rate_limited));
  // Half a second later: five more tokens.
  served = 0;
  for (int i = 0; i < 1000; ++i) served += guard.check(client, us, start + 500ms) == Verdict::serve;
  BOOST_TEST(served == 5);
  // Another address has its own bucket.
  BOOST_TEST((guard.check(inet("198.51.100.8", 40000), us, start) == Verdict::serve));
  BOOST_TEST(guard.dropped()[static_cast<size_t>(Verdict::rate_limited)] == 1986u);
}

BOOST_AUTO_TEST_CASE(many_sources_keep_the_table_bounded_and_each_gets_a_reply) {
  DatagramGuard guard({.rate_per_source = 5});
  SocketAddress us = inet("127.0.0.1", 7007);
  auto now = Clock::now();
  int served = 0;
  for (int i = 0; i < 100'000; ++i) {  // 100,000 forged sources: the table stays 4096 slots
    char dotted[32];
    std::snprintf(dotted, sizeof dotted, "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
    served += guard.check(inet(dotted, 40000), us, now) == Verdict::serve;
  }
  // Sources that share a slot share its bucket: at most 5 replies per slot.
  BOOST_TEST(served <= 5 * 4096);
  BOOST_TEST(served >= 4096);
}

BOOST_AUTO_TEST_CASE(unix_datagram_peers_are_not_limited) {
  DatagramGuard guard({.rate_per_source = 1});
  SocketAddress unnamed;
  unnamed.storage.ss_family = AF_UNIX;
  unnamed.length = sizeof(sa_family_t);
  for (int i = 0; i < 10; ++i)
    BOOST_TEST((guard.check(unnamed, unnamed, Clock::now()) == Verdict::serve));
}

BOOST_AUTO_TEST_CASE(replies_to_port_0_or_echo_like_ports_are_refused) {
  DroppedReplies dropped;
  for (uint16_t port : {0, 7, 13, 17, 19, 37}) {
    DatagramRequest request(-1, "x", inet("127.0.0.1", port), 0, dropped);
    BOOST_TEST(!request.may_reply(), "port " << port);
  }
  DatagramRequest normal(-1, "x", inet("127.0.0.1", 40000), 0, dropped);
  BOOST_TEST(normal.may_reply());
}

BOOST_AUTO_TEST_SUITE_END()
