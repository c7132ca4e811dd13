// The PROXY header parser (v1 text, v2 binary) and reading it off a socket without taking a
// byte of what follows.
#include "proxy_protocol.hpp"

#include <sys/socket.h>

#include <boost/test/unit_test.hpp>
#include <string>

#include "error.hpp"
#include "fd.hpp"

using namespace sockserv;
using Status = ProxyParse::Status;

namespace {

ProxyParse parse(const std::string& bytes) {
  return parse_proxy_header(std::as_bytes(std::span(bytes.data(), bytes.size())));
}

const std::string kV2Signature("\r\n\r\n\0\r\nQUIT\n", 12);

// A v2 header: version 2, `command`, `family`, then `body` (addresses and TLVs).
std::string v2(unsigned char command, unsigned char family, const std::string& body) {
  std::string header = kV2Signature;
  header += static_cast<char>(0x20 | command);
  header += static_cast<char>(family);
  header += static_cast<char>(body.size() >> 8);
  header += static_cast<char>(body.size() & 0xFF);
  return header + body;
}

// 192.0.2.7:56324 -> 198.51.100.1:7, in v2's binary form.
const std::string kIpv4Body("\xC0\x00\x02\x07\xC6\x33\x64\x01\xDC\x04\x00\x07", 12);

}  // namespace

BOOST_AUTO_TEST_SUITE(proxy_protocol)

BOOST_AUTO_TEST_CASE(v1_tcp4_names_the_client) {
  ProxyParse p = parse("PROXY TCP4 192.0.2.7 198.51.100.1 56324 7\r\nhello");
  BOOST_TEST((p.status == Status::complete));
  BOOST_TEST(p.length == 43U);  // the bytes of the header only, not "hello"
  BOOST_REQUIRE(p.client.has_value());
  BOOST_TEST(to_string(*p.client) == "192.0.2.7:56324");
}

BOOST_AUTO_TEST_CASE(v1_tcp6_names_the_client) {
  ProxyParse p = parse("PROXY TCP6 2001:db8::1 2001:db8::2 4000 80\r\n");
  BOOST_TEST((p.status == Status::complete));
  BOOST_REQUIRE(p.client.has_value());
  BOOST_TEST(to_string(*p.client) == "[2001:db8::1]:4000");
}

BOOST_AUTO_TEST_CASE(v1_unknown_keeps_the_proxy) {
  ProxyParse p = parse("PROXY UNKNOWN\r\n");
  BOOST_TEST((p.status == Status::complete));
  BOOST_TEST(p.length == 15U);
  BOOST_TEST(!p.client.has_value());
}

BOOST_AUTO_TEST_CASE(v1_partial_is_incomplete) {
  BOOST_TEST((parse("").status == Status::incomplete));
  BOOST_TEST((parse("PRO").status == Status::incomplete));
  BOOST_TEST((parse("PROXY TCP4 192.0.2.7 ").status == Status::incomplete));
  BOOST_TEST((parse("PROXY TCP4 192.0.2.7 198.51.100.1 56324 7\r").status == Status::incomplete));
}

BOOST_AUTO_TEST_CASE(v1_malformed_is_invalid) {
  for (const char* bad : {
           "GET / HTTP/1.1\r\n",                               // no header at all
           "PROXY TCP4 192.0.2.7 198.51.100.1 56324\r\n",      // a field missing
           "PROXY TCP4 192.0.2.7 198.51.100.1 56324 7 8\r\n",  // one too many
           "PROXY TCP5 192.0.2.7 198.51.100.1 56324 7\r\n",    // unknown family
           "PROXY TCP4 2001:db8::1 198.51.100.1 56324 7\r\n",  // v6 address as TCP4
           "PROXY TCP4 192.0.2.999 198.51.100.1 56324 7\r\n",  // not an address
           "PROXY TCP4 192.0.2.7 198.51.100.1 65536 7\r\n",    // port out of range
           "PROXY TCP4 192.0.2.7 198.51.100.1 -1 7\r\n",       // signed port
           "PROXY TCP4 192.0.2.7 198.51.100.1 0080 7\r\n",     // leading zero
           "PROXY TCP4  192.0.2.7 198.51.100.1 56324 7\r\n",   // two spaces
       }) {
    BOOST_TEST_INFO("header: " << bad);
    BOOST_TEST((parse(bad).status == Status::invalid));
  }
}

BOOST_AUTO_TEST_CASE(v1_without_end_of_line_in_107_bytes_is_invalid) {
  std::string endless = "PROXY UNKNOWN " + std::string(100, 'x');
  BOOST_TEST((parse(endless).status == Status::invalid));
}

BOOST_AUTO_TEST_CASE(v2_proxy_tcp4_names_the_client) {
  std::string header = v2(1, 0x11, kIpv4Body);
  ProxyParse p = parse(header + "after");
  BOOST_TEST((p.status == Status::complete));
  BOOST_TEST(p.length == 28U);
  BOOST_REQUIRE(p.client.has_value());
  BOOST_TEST(to_string(*p.client) == "192.0.2.7:56324");
}

BOOST_AUTO_TEST_CASE(v2_proxy_tcp6_names_the_client) {
  std::string body(36, '\0');
  body[0] = '\x20';
  body[1] = '\x01';
  body[2] = '\x0d';
  body[3] = '\xb8';
  body[15] = '\x01';  // 2001:db8::1
  body[32] = '\x0f';
  body[33] = '\xa0';  // port 4000
  ProxyParse p = parse(v2(1, 0x21, body));
  BOOST_TEST((p.status == Status::complete));
  BOOST_REQUIRE(p.client.has_value());
  BOOST_TEST(to_string(*p.client) == "[2001:db8::1]:4000");
}

BOOST_AUTO_TEST_CASE(v2_tlvs_are_skipped) {
  std::string tlv(
      "\x04\x00\x03"
      "abc",
      6);  // PP2_TYPE_NOOP with three bytes
  ProxyParse p = parse(v2(1, 0x11, kIpv4Body + tlv));
  BOOST_TEST((p.status == Status::complete));
  BOOST_TEST(p.length == 16U + 12U + 6U);
}

BOOST_AUTO_TEST_CASE(v2_local_and_unspecified_keep_the_proxy) {
  ProxyParse local = parse(v2(0, 0x00, ""));
  BOOST_TEST((local.status == Status::complete));
  BOOST_TEST(local.length == 16U);
  BOOST_TEST(!local.client.has_value());
  ProxyParse unix_family = parse(v2(1, 0x31, std::string(216, '\0')));
  BOOST_TEST((unix_family.status == Status::complete));
  BOOST_TEST(!unix_family.client.has_value());
}

BOOST_AUTO_TEST_CASE(v2_partial_is_incomplete) {
  std::string header = v2(1, 0x11, kIpv4Body);
  for (size_t n = 1; n < header.size(); ++n) {
    BOOST_TEST_INFO("bytes: " << n);
    BOOST_TEST((parse(header.substr(0, n)).status == Status::incomplete));
  }
}

BOOST_AUTO_TEST_CASE(v2_malformed_is_invalid) {
  std::string wrong_version = v2(1, 0x11, kIpv4Body);
  wrong_version[12] = '\x11';
  BOOST_TEST((parse(wrong_version).status == Status::invalid));
  BOOST_TEST((parse(v2(2, 0x11, kIpv4Body)).status == Status::invalid));               // command 2
  BOOST_TEST((parse(v2(1, 0x11, kIpv4Body.substr(0, 8))).status == Status::invalid));  // short
  BOOST_TEST((parse(v2(1, 0x21, kIpv4Body)).status == Status::invalid));  // v6 needs 36 bytes
  std::string huge = v2(1, 0x11, kIpv4Body);
  huge[14] = '\xFF';  // declares 65,280+ bytes: more than we accept
  BOOST_TEST((parse(huge).status == Status::invalid));
}

BOOST_AUTO_TEST_CASE(reading_takes_the_header_and_leaves_the_data) {
  int pair[2];
  BOOST_REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0);
  UniqueFd ours(pair[0]), theirs(pair[1]);
  // The header arrives in two pieces, the first ending inside it, then data follows.
  std::string first = "PROXY TCP4 192.0.2.7 198.";
  std::string rest = "51.100.1 56324 7\r\nhello";
  BOOST_REQUIRE(::send(theirs.get(), first.data(), first.size(), 0) == ssize_t(first.size()));
  BOOST_REQUIRE(::send(theirs.get(), rest.data(), rest.size(), 0) == ssize_t(rest.size()));
  ProxyParse p = read_proxy_header(ours.get(), Deadline::after(Millis(2000)));
  BOOST_REQUIRE(p.client.has_value());
  BOOST_TEST(to_string(*p.client) == "192.0.2.7:56324");
  char data[16] = {};
  BOOST_TEST(::recv(ours.get(), data, sizeof data, MSG_DONTWAIT) == 5);
  BOOST_TEST(std::string(data, 5) == "hello");
}

BOOST_AUTO_TEST_CASE(reading_a_late_header_times_out) {
  int pair[2];
  BOOST_REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0);
  UniqueFd ours(pair[0]), theirs(pair[1]);
  BOOST_REQUIRE(::send(theirs.get(), "PROXY ", 6, 0) == 6);
  BOOST_CHECK_THROW(read_proxy_header(ours.get(), Deadline::after(Millis(200))), TimeoutError);
}

BOOST_AUTO_TEST_CASE(reading_garbage_or_eof_is_a_protocol_error) {
  int pair[2];
  BOOST_REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0);
  UniqueFd ours(pair[0]), theirs(pair[1]);
  BOOST_REQUIRE(::send(theirs.get(), "hello\n", 6, 0) == 6);
  BOOST_CHECK_THROW(read_proxy_header(ours.get(), Deadline::after(Millis(2000))), ProtocolError);
  int pair2[2];
  BOOST_REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair2) == 0);
  UniqueFd ours2(pair2[0]), theirs2(pair2[1]);
  BOOST_REQUIRE(::send(theirs2.get(), "PROXY TC", 8, 0) == 8);
  theirs2.reset();
  BOOST_CHECK_THROW(read_proxy_header(ours2.get(), Deadline::after(Millis(2000))), ProtocolError);
}

BOOST_AUTO_TEST_SUITE_END()
