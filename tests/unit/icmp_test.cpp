// ICMP echo packets without sockets: the RFC 1071 checksum, the requests we build, and the
// reply parser fed well-formed, malformed, short and random packets.
#include "icmp.hpp"

#include <boost/test/unit_test.hpp>
#include <random>
#include <vector>

using namespace sockserv;

namespace {

std::vector<std::byte> bytes(std::initializer_list<int> values) {
  std::vector<std::byte> out;
  for (int v : values) out.push_back(std::byte(v));
  return out;
}

// What a peer sends back for `request`: the same message as an echo reply (type 0 or 129),
// with the ICMPv4 checksum made right again.
std::vector<std::byte> reply_to(IcmpVersion version, std::vector<std::byte> request) {
  request[0] = std::byte(version == IcmpVersion::v4 ? 0 : 129);
  if (version == IcmpVersion::v4) {
    request[2] = request[3] = std::byte{0};
    uint16_t sum = internet_checksum(request);
    request[2] = std::byte(sum >> 8);
    request[3] = std::byte(sum & 0xff);
  }
  return request;
}

// A minimal IPv4 header (20 bytes, protocol ICMP) with `ttl`, in front of `icmp`.
std::vector<std::byte> with_ipv4_header(const std::vector<std::byte>& icmp, int ttl) {
  std::vector<std::byte> packet =
      bytes({0x45, 0, 0, 0, 0, 0, 0, 0, ttl, 1, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1});
  packet.insert(packet.end(), icmp.begin(), icmp.end());
  return packet;
}

std::vector<std::byte> sample_reply(size_t payload = 56) {
  return reply_to(IcmpVersion::v4,
                  make_echo_request(IcmpVersion::v4, 0x1234, 7,
                                    make_echo_payload(payload, 0x0102030405060708)));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(icmp)

// The worked example of RFC 1071 section 3: the sum of 0001 f203 f4f5 f6f7 is ddf2.
BOOST_AUTO_TEST_CASE(checksum_matches_rfc1071_example) {
  BOOST_TEST(internet_checksum(bytes({0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7})) == 0x220d);
}

BOOST_AUTO_TEST_CASE(checksum_pads_an_odd_byte_and_folds_carries) {
  BOOST_TEST(internet_checksum(bytes({0x01})) == 0xfeff);  // 0x0100, not 0x0001
  BOOST_TEST(internet_checksum({}) == 0xffff);
  // 0xffff + 0xffff = 0x1fffe, folded to 0xffff, complemented to 0.
  BOOST_TEST(internet_checksum(bytes({0xff, 0xff, 0xff, 0xff})) == 0x0000);
}

BOOST_AUTO_TEST_CASE(echo_request_v4_carries_a_checksum_that_verifies) {
  std::vector<std::byte> request = make_echo_request(IcmpVersion::v4, 0x1234, 1, {});
  // type 8, code 0, checksum ~(0x0800 + 0x1234 + 0x0001) = 0xe5ca, id, seq
  BOOST_TEST(request == bytes({8, 0, 0xe5, 0xca, 0x12, 0x34, 0x00, 0x01}));
  std::vector<std::byte> big =
      make_echo_request(IcmpVersion::v4, 0xbeef, 0xfffe, make_echo_payload(1001, 42));
  BOOST_TEST(big.size() == 1009U);
  BOOST_TEST(internet_checksum(big) == 0);
}

BOOST_AUTO_TEST_CASE(echo_request_v6_leaves_the_checksum_to_the_kernel) {
  std::vector<std::byte> request = make_echo_request(IcmpVersion::v6, 0x0102, 0x0304, {});
  BOOST_TEST(request == bytes({128, 0, 0, 0, 1, 2, 3, 4}));
}

BOOST_AUTO_TEST_CASE(payload_starts_with_the_timestamp_then_ping8s_pattern) {
  std::vector<std::byte> payload = make_echo_payload(12, 0x0102030405060708);
  BOOST_TEST(payload == bytes({1, 2, 3, 4, 5, 6, 7, 8, 8, 9, 10, 11}));
  // Too small for a timestamp: only the pattern.
  BOOST_TEST(make_echo_payload(3, 99) == bytes({0, 1, 2}));
  BOOST_TEST(make_echo_payload(0, 99).empty());
}

BOOST_AUTO_TEST_CASE(parses_a_reply_with_its_timestamp) {
  std::optional<EchoReply> reply = parse_echo_reply(IcmpVersion::v4, false, sample_reply());
  BOOST_REQUIRE(reply.has_value());
  BOOST_TEST(reply->id == 0x1234);
  BOOST_TEST(reply->seq == 7);
  BOOST_TEST(reply->icmp_bytes == 64U);
  BOOST_TEST(reply->send_time_ns.value_or(0) == 0x0102030405060708);
  BOOST_TEST(reply->payload_intact);
  BOOST_TEST(!reply->ttl.has_value());
}

BOOST_AUTO_TEST_CASE(parses_a_raw_ipv4_packet_and_its_ttl) {
  std::optional<EchoReply> reply =
      parse_echo_reply(IcmpVersion::v4, true, with_ipv4_header(sample_reply(), 63));
  BOOST_REQUIRE(reply.has_value());
  BOOST_TEST(reply->ttl.value_or(0) == 63);
  BOOST_TEST(reply->icmp_bytes == 64U);  // the IP header is not counted, as in ping(8)
}

BOOST_AUTO_TEST_CASE(parses_an_icmpv6_reply) {
  std::vector<std::byte> request =
      make_echo_request(IcmpVersion::v6, 9, 65535, make_echo_payload(8, 5));
  std::optional<EchoReply> reply =
      parse_echo_reply(IcmpVersion::v6, false, reply_to(IcmpVersion::v6, request));
  BOOST_REQUIRE(reply.has_value());
  BOOST_TEST(reply->seq == 65535);
  BOOST_TEST(reply->send_time_ns.value_or(0) == 5);
  // An ICMPv4 reply type means nothing to ICMPv6, and the other way round.
  BOOST_TEST(!parse_echo_reply(IcmpVersion::v6, false, sample_reply()).has_value());
  BOOST_TEST(!parse_echo_reply(IcmpVersion::v4, false, reply_to(IcmpVersion::v6, request)));
}

BOOST_AUTO_TEST_CASE(short_payloads_have_no_timestamp) {
  std::optional<EchoReply> reply = parse_echo_reply(IcmpVersion::v4, false, sample_reply(5));
  BOOST_REQUIRE(reply.has_value());
  BOOST_TEST(!reply->send_time_ns.has_value());
  BOOST_TEST(reply->icmp_bytes == 13U);
}

BOOST_AUTO_TEST_CASE(a_changed_payload_is_reported) {
  // A payload byte changed on the way, with a checksum made right again (a middlebox would).
  std::vector<std::byte> changed = sample_reply();
  changed[30] ^= std::byte{0x40};
  std::optional<EchoReply> reply =
      parse_echo_reply(IcmpVersion::v4, false, reply_to(IcmpVersion::v4, changed));
  BOOST_REQUIRE(reply.has_value());
  BOOST_TEST(!reply->payload_intact);
}

BOOST_AUTO_TEST_CASE(malformed_and_short_packets_are_refused) {
  const std::vector<std::byte> good = sample_reply();
  auto refused = [](bool ip, const std::vector<std::byte>& packet) {
    return !parse_echo_reply(IcmpVersion::v4, ip, packet).has_value();
  };
  BOOST_TEST(refused(false, {}));
  // Every cut of the 8-byte header, and every cut after it (the checksum no longer adds up).
  for (size_t n = 0; n < good.size(); ++n) {
    BOOST_TEST(refused(false, std::vector<std::byte>(good.begin(), good.begin() + n)), n);
  }
  std::vector<std::byte> request = make_echo_request(IcmpVersion::v4, 1, 1, {});
  BOOST_TEST(refused(false, request));  // our own request, as a raw socket sees it on loopback
  std::vector<std::byte> coded = good;
  coded[1] = std::byte{1};
  BOOST_TEST(refused(false, coded));  // echo has code 0 only (checksum now off too)
  std::vector<std::byte> corrupted = good;
  corrupted[20] ^= std::byte{0x01};
  BOOST_TEST(refused(false, corrupted));  // bad checksum
}

BOOST_AUTO_TEST_CASE(malformed_ip_headers_are_refused) {
  const std::vector<std::byte> good = with_ipv4_header(sample_reply(), 64);
  BOOST_REQUIRE(parse_echo_reply(IcmpVersion::v4, true, good).has_value());
  auto refused = [](const std::vector<std::byte>& packet) {
    return !parse_echo_reply(IcmpVersion::v4, true, packet).has_value();
  };
  for (size_t n = 0; n < 28; ++n) {  // an IP header cut short, or the ICMP header
    BOOST_TEST(refused(std::vector<std::byte>(good.begin(), good.begin() + n)), n);
  }
  auto changed = [&](size_t at, int value) {
    std::vector<std::byte> p = good;
    p[at] = std::byte(value);
    return p;
  };
  BOOST_TEST(refused(changed(0, 0x44)));  // IHL 4: shorter than an IPv4 header can be
  BOOST_TEST(refused(changed(0, 0x4f)));  // IHL 15: 60 bytes, into the ICMP message
  BOOST_TEST(refused(changed(0, 0x65)));  // version 6
  BOOST_TEST(refused(changed(9, 17)));    // UDP, not ICMP
  // An IPv4 header with options (IHL 6) is skipped whole.
  std::vector<std::byte> options = good;
  options[0] = std::byte{0x46};
  options.insert(options.begin() + 20, 4, std::byte{1});  // four NOP options
  BOOST_TEST(parse_echo_reply(IcmpVersion::v4, true, options).has_value());
}

// A router's error about our request (RFC 792): its 8-byte header, then our packet's IPv4
// header and the first 8 bytes of our ICMP message.
std::vector<std::byte> time_exceeded_v4(const std::vector<std::byte>& request) {
  std::vector<std::byte> error = bytes({11, 0, 0, 0, 0, 0, 0, 0});
  std::vector<std::byte> quoted = with_ipv4_header(request, 1);
  error.insert(error.end(), quoted.begin(), quoted.begin() + 28);
  uint16_t sum = internet_checksum(error);
  error[2] = std::byte(sum >> 8);
  error[3] = std::byte(sum & 0xff);
  return error;
}

BOOST_AUTO_TEST_CASE(errors_quoting_our_request_are_parsed) {
  std::vector<std::byte> request =
      make_echo_request(IcmpVersion::v4, 0x4242, 9, make_echo_payload(56, 1));
  std::vector<std::byte> error = time_exceeded_v4(request);
  std::optional<EchoError> parsed = parse_echo_error(IcmpVersion::v4, false, error);
  BOOST_REQUIRE(parsed.has_value());
  BOOST_TEST(parsed->id == 0x4242);
  BOOST_TEST(parsed->seq == 9);
  BOOST_TEST(parsed->type == 11);
  BOOST_TEST(parsed->code == 0);
  // As a raw IPv4 socket receives it: after the router's IP header.
  BOOST_TEST(parse_echo_error(IcmpVersion::v4, true, with_ipv4_header(error, 60)).has_value());
  // Not an echo reply, and a reply is not an error.
  BOOST_TEST(!parse_echo_reply(IcmpVersion::v4, false, error).has_value());
  BOOST_TEST(!parse_echo_error(IcmpVersion::v4, false, sample_reply()).has_value());
}

BOOST_AUTO_TEST_CASE(icmpv6_errors_quote_the_ipv6_header) {
  std::vector<std::byte> error = bytes({3, 0, 0, 0, 0, 0, 0, 0});  // time exceeded
  std::vector<std::byte> ipv6(40);
  ipv6[0] = std::byte{0x60};
  ipv6[6] = std::byte{58};  // next header: ICMPv6
  error.insert(error.end(), ipv6.begin(), ipv6.end());
  std::vector<std::byte> request = make_echo_request(IcmpVersion::v6, 7, 8, {});
  error.insert(error.end(), request.begin(), request.end());
  std::optional<EchoError> parsed = parse_echo_error(IcmpVersion::v6, false, error);
  BOOST_REQUIRE(parsed.has_value());
  BOOST_TEST(parsed->id == 7);
  BOOST_TEST(parsed->seq == 8);
  std::vector<std::byte> udp = error;
  udp[8 + 6] = std::byte{17};  // the quoted packet was UDP, not ours
  BOOST_TEST(!parse_echo_error(IcmpVersion::v6, false, udp).has_value());
}

BOOST_AUTO_TEST_CASE(malformed_errors_are_refused) {
  std::vector<std::byte> good =
      time_exceeded_v4(make_echo_request(IcmpVersion::v4, 1, 2, make_echo_payload(8, 0)));
  for (size_t n = 0; n < good.size(); ++n) {  // every cut: the quoted request is incomplete
    BOOST_TEST(!parse_echo_error(IcmpVersion::v4, false, std::span(good).first(n)), n);
  }
  std::vector<std::byte> redirect = good;
  redirect[0] = std::byte{5};  // a redirect is no error about a request
  BOOST_TEST(!parse_echo_error(IcmpVersion::v4, false, redirect).has_value());
  std::vector<std::byte> corrupted = good;
  corrupted[30] ^= std::byte{1};  // the checksum no longer adds up
  BOOST_TEST(!parse_echo_error(IcmpVersion::v4, false, corrupted).has_value());
  // The quoted message is an echo reply, not our request (the checksum made right again).
  std::vector<std::byte> quoted_reply =
      time_exceeded_v4(reply_to(IcmpVersion::v4, make_echo_request(IcmpVersion::v4, 1, 2, {})));
  BOOST_TEST(!parse_echo_error(IcmpVersion::v4, false, quoted_reply).has_value());
  BOOST_TEST(!parse_returned_request(IcmpVersion::v4, bytes({8, 0, 0, 0, 0, 1, 0})));
  std::optional<EchoError> returned =
      parse_returned_request(IcmpVersion::v4, bytes({8, 0, 0, 0, 0, 1, 0, 2}));
  BOOST_TEST((returned && returned->id == 1 && returned->seq == 2));
}

BOOST_AUTO_TEST_CASE(error_texts_as_ping8_prints_them) {
  BOOST_TEST(icmp_error_text(IcmpVersion::v4, 11, 0) == "Time to live exceeded");
  BOOST_TEST(icmp_error_text(IcmpVersion::v4, 3, 1) == "Destination Host Unreachable");
  BOOST_TEST(icmp_error_text(IcmpVersion::v4, 3, 200) == "ICMP type 3 code 200");
  BOOST_TEST(icmp_error_text(IcmpVersion::v6, 1, 3) ==
             "Destination unreachable: Address unreachable");
  BOOST_TEST(icmp_error_text(IcmpVersion::v6, 3, 0) == "Time exceeded: Hop limit");
}

// Random bytes of random lengths: the parser reads nothing outside the packet (checked by
// the sanitizer builds) and accepts only what carries an echo reply type and a valid sum.
BOOST_AUTO_TEST_CASE(random_packets_never_break_the_parser) {
  std::mt19937 random(7);
  size_t accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::vector<std::byte> packet(random() % 100);
    for (std::byte& b : packet) b = std::byte(random() & 0xff);
    if (i % 2 == 0 && packet.size() >= 8) packet[0] = std::byte{0};  // a reply's type, often
    for (bool ip : {false, true}) {
      for (IcmpVersion version : {IcmpVersion::v4, IcmpVersion::v6}) {
        parse_echo_error(version, ip, packet);  // no crash, no read outside the packet
        std::optional<EchoReply> reply = parse_echo_reply(version, ip, packet);
        if (!reply) continue;
        ++accepted;
        BOOST_TEST(reply->icmp_bytes <= packet.size());
        BOOST_TEST(reply->icmp_bytes >= kIcmpHeaderBytes);
        std::span<const std::byte> icmp = std::span(packet).last(reply->icmp_bytes);
        BOOST_TEST(std::to_integer<int>(icmp[1]) == 0);  // code
        if (version == IcmpVersion::v4) BOOST_TEST(internet_checksum(icmp) == 0);
      }
    }
  }
  // Type 0 with a random checksum passes 1 time in 65536, type 129 (v6, no sum) more often.
  BOOST_TEST(accepted < 200U);
}

BOOST_AUTO_TEST_SUITE_END()
