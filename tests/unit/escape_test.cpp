// Escaping client text for logs and terminals (common/escape): what stays, what becomes \xNN.
#include "escape.hpp"

#include <sys/un.h>

#include <boost/test/unit_test.hpp>
#include <cstring>
#include <sstream>
#include <string>

#include "address.hpp"
#include "utf8.hpp"

using namespace sockserv;
using namespace std::string_literals;

BOOST_AUTO_TEST_SUITE(escape)

BOOST_AUTO_TEST_CASE(printable_ascii_and_valid_utf8_stay) {
  BOOST_TEST(escape_text("report-2026.txt") == "report-2026.txt");
  std::string cafe = "caf\xc3\xa9 \xe4\xbd\xa0\xe5\xa5\xbd \xf0\x9f\x98\x80";
  BOOST_TEST(escape_text(cafe) == cafe);
  BOOST_TEST(is_safe_text(cafe));
}

BOOST_AUTO_TEST_CASE(newline_and_terminal_escapes_become_hex) {
  BOOST_TEST(escape_text("a\nb") == "a\\x0ab");
  BOOST_TEST(escape_text("\x1b[2J") == "\\x1b[2J");
  BOOST_TEST(escape_text("\x1b]0;owned\x07") == "\\x1b]0;owned\\x07");  // window title
  BOOST_TEST(escape_text("x\rbob") == "x\\x0dbob");
  BOOST_TEST(escape_text("\t") == "\\x09");
  BOOST_TEST(escape_text("\x7f") == "\\x7f");
  BOOST_TEST(escape_text("a\0b"s) == "a\\x00b");
  BOOST_TEST(!is_safe_text("\x1b[2J"));
  BOOST_TEST(!is_safe_text("a\0b"s));
}

BOOST_AUTO_TEST_CASE(c1_controls_are_escaped_raw_or_in_utf8) {
  BOOST_TEST(escape_text("\xc2\x9b"
                         "2J") == "\\xc2\\x9b2J");      // U+009B, CSI
  BOOST_TEST(escape_text("\xc2\x85") == "\\xc2\\x85");  // U+0085, NEL: a line break too
  BOOST_TEST(escape_text("\x9b") == "\\x9b");           // a raw 8-bit CSI
  BOOST_TEST(escape_text("\xc2\xa0") == "\xc2\xa0");    // U+00A0 is no control
}

BOOST_AUTO_TEST_CASE(invalid_utf8_is_escaped_byte_by_byte) {
  BOOST_TEST(escape_text("\xff") == "\\xff");
  BOOST_TEST(escape_text("\xc3") == "\\xc3");                    // truncated
  BOOST_TEST(escape_text("\xc0\xaf") == "\\xc0\\xaf");           // overlong '/'
  BOOST_TEST(escape_text("\xed\xa0\x80") == "\\xed\\xa0\\x80");  // surrogate
  BOOST_TEST(escape_text("\xc3x\xc3\xa9") == "\\xc3x\xc3\xa9");  // resyncs on the next byte
}

BOOST_AUTO_TEST_CASE(backslash_is_escaped_in_logs_only) {
  BOOST_TEST(escape_text("a\\x0ab", EscapeStyle::log) == "a\\x5cx0ab");
  BOOST_TEST(escape_text("a\\b", EscapeStyle::terminal) == "a\\b");
  BOOST_TEST(is_safe_text("a\\b"));
}

BOOST_AUTO_TEST_CASE(escaped_text_is_safe_whatever_the_input) {
  std::string every_byte;
  for (int b = 0; b < 256; ++b) every_byte += static_cast<char>(b);
  for (EscapeStyle style : {EscapeStyle::log, EscapeStyle::terminal}) {
    std::string out = escape_text(every_byte, style);
    BOOST_TEST(is_safe_text(out));
    BOOST_TEST(is_valid_utf8(out));
    BOOST_TEST(out.find('\n') == std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(client_text_streams_escaped) {
  std::ostringstream line;
  line << "get " << client_text("evil\nsockserv[1]: forged") << " from 0";
  BOOST_TEST(line.str() == "get evil\\x0asockserv[1]: forged from 0");
}

BOOST_AUTO_TEST_CASE(utf8_sequence_lengths) {
  BOOST_TEST(utf8_sequence_length("") == 0u);
  BOOST_TEST(utf8_sequence_length("a") == 1u);
  BOOST_TEST(utf8_sequence_length("\xc3\xa9z") == 2u);
  BOOST_TEST(utf8_sequence_length("\xf0\x9f\x98\x80") == 4u);
  BOOST_TEST(utf8_sequence_length("\xf0\x9f\x98") == 0u);
  BOOST_TEST(utf8_sequence_length("\x80") == 0u);
}

BOOST_AUTO_TEST_CASE(a_unix_peer_path_is_printed_escaped) {
  // A unix client may bind its socket to any name: it is shown in logs and in chat's /who.
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  std::strcpy(un.sun_path, "/tmp/\x1b[2J\nforged");
  SocketAddress peer;
  std::memcpy(&peer.storage, &un, sizeof un);
  peer.length = sizeof un;
  BOOST_TEST(to_string(peer) == "unix:/tmp/\\x1b[2J\\x0aforged");
}

BOOST_AUTO_TEST_SUITE_END()
