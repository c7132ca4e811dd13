// RFC details of the classic services, one test each: 1900 epoch, chargen lines (the UDP
// reply rules are in datagram_guard_test).
#include <boost/test/unit_test.hpp>
#include <cstring>

#include "chargen.hpp"
#include "clock_formats.hpp"

using namespace sockserv;

BOOST_AUTO_TEST_SUITE(rfc_formats)

BOOST_AUTO_TEST_CASE(rfc868_counts_from_1900_not_1970) {
  BOOST_TEST(rfc868_time(0) == 2'208'988'800u);
  BOOST_TEST(unix_from_rfc868(2'208'988'800u, 0) == 0);
  // 2036-02-07 06:28:16 UTC wraps the 32-bit counter to 0; a reading just after the wrap
  // still converts to the right moment when our clock is near it.
  std::time_t after_wrap = static_cast<std::time_t>((int64_t{1} << 32) - 2'208'988'800 + 10);
  BOOST_TEST(rfc868_time(after_wrap) == 10u);
  BOOST_TEST(unix_from_rfc868(10, after_wrap) == after_wrap);
}

BOOST_AUTO_TEST_CASE(daytime_line_is_ctime_format_with_crlf) {
  BOOST_TEST(daytime_text(0) == "Thu Jan  1 00:00:00 1970\r\n");
  BOOST_TEST(daytime_text(1795000000) == "Wed Nov 18 11:06:40 2026\r\n");
}

BOOST_AUTO_TEST_CASE(chargen_lines_are_72_characters_and_crlf) {
  std::string first = chargen_line(0);
  BOOST_TEST(first.size() == 74u);
  BOOST_TEST(first.substr(0, 5) == " !\"#$");
  BOOST_TEST(first.substr(72) == "\r\n");
  BOOST_TEST(chargen_line(1).substr(0, 3) == "!\"#");
  BOOST_TEST(chargen_line(95) == chargen_line(0));  // the ring of 95 printable characters
  BOOST_TEST(chargen_line(94).substr(0, 2) == "~ ");
}

BOOST_AUTO_TEST_SUITE_END()
