// The SMTP reply parser (RFC 5321 4.2: one line or several, bounded), the EHLO extensions
// read from a reply, and dot-stuffing of DATA (4.5.2). No sockets: the parser takes bytes.
// Then the client's own checks: AUTH in clear only to loopback, EHLO names, mechanisms.
#include "smtp.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

#include "error.hpp"
#include "smtp_auth.hpp"
#include "smtp_reply.hpp"

using namespace sockserv;
using Status = SmtpReplyParse::Status;

BOOST_AUTO_TEST_SUITE(smtp_reply)

BOOST_AUTO_TEST_CASE(one_line_reply) {
  SmtpReplyParse parse = parse_smtp_reply("220 mail.example.org ESMTP ready\r\nrest");
  BOOST_TEST(static_cast<int>(parse.status) == static_cast<int>(Status::complete));
  BOOST_TEST(parse.length == 34u);
  BOOST_TEST(parse.reply.code == 220);
  BOOST_TEST(parse.reply.kind() == 2);
  BOOST_TEST(parse.reply.lines.size() == 1u);
  BOOST_TEST(parse.reply.lines[0] == "mail.example.org ESMTP ready");
}

BOOST_AUTO_TEST_CASE(multi_line_reply_ends_at_the_line_with_a_space) {
  std::string ehlo =
      "250-mail.example.org\r\n250-SIZE 1000\r\n250-AUTH PLAIN LOGIN\r\n250 HELP\r\n";
  SmtpReplyParse parse = parse_smtp_reply(ehlo + "220 next\r\n");
  BOOST_TEST(static_cast<int>(parse.status) == static_cast<int>(Status::complete));
  BOOST_TEST(parse.length == ehlo.size());
  BOOST_TEST(parse.reply.code == 250);
  BOOST_TEST(parse.reply.lines.size() == 4u);
  BOOST_TEST(parse.reply.lines[2] == "AUTH PLAIN LOGIN");
  BOOST_TEST(parse.reply.describe() ==
             "250 mail.example.org / SIZE 1000 / AUTH PLAIN LOGIN / HELP");
}

BOOST_AUTO_TEST_CASE(a_reply_is_incomplete_until_its_last_line_ends) {
  for (std::string partial :
       {"", "2", "250", "250-first\r\n", "250-first\r\n250 last", "250 x\r"}) {
    SmtpReplyParse parse = parse_smtp_reply(partial);
    BOOST_TEST(static_cast<int>(parse.status) == static_cast<int>(Status::incomplete),
               "'" << partial << "'");
  }
}

BOOST_AUTO_TEST_CASE(bare_code_and_bare_lf_are_taken) {
  SmtpReplyParse parse = parse_smtp_reply("354\n");
  BOOST_TEST(static_cast<int>(parse.status) == static_cast<int>(Status::complete));
  BOOST_TEST(parse.reply.code == 354);
  BOOST_TEST(parse.reply.lines.size() == 1u);
  BOOST_TEST(parse.reply.lines[0].empty());
  BOOST_TEST(parse.length == 4u);
}

BOOST_AUTO_TEST_CASE(malformed_replies_are_refused) {
  for (std::string bad :
       {"hello\r\n", "25\r\n", "600 no\r\n", "199 no\r\n", "260 no\r\n", "250x text\r\n",
        "250-first\r\n251 other code\r\n", "-250 x\r\n", "2a0 x\r\n", "\r\n"}) {
    SmtpReplyParse parse = parse_smtp_reply(bad);
    BOOST_TEST(static_cast<int>(parse.status) == static_cast<int>(Status::malformed),
               "'" << bad << "'");
    BOOST_TEST(!parse.error.empty());
  }
}

BOOST_AUTO_TEST_CASE(a_too_long_line_is_malformed_before_it_ends) {
  std::string longest = "250 " + std::string(kMaxReplyLine - 6, 'x') + "\r\n";
  BOOST_TEST(longest.size() == kMaxReplyLine);
  BOOST_TEST(static_cast<int>(parse_smtp_reply(longest).status) ==
             static_cast<int>(Status::complete));
  // One byte more, and no line end in sight: refused without waiting for the rest.
  std::string too_long = "250 " + std::string(kMaxReplyLine, 'x');
  SmtpReplyParse parse = parse_smtp_reply(too_long);
  BOOST_TEST(static_cast<int>(parse.status) == static_cast<int>(Status::malformed));
  BOOST_TEST(parse.error.find("longer than") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(too_many_lines_are_malformed) {
  std::string reply;
  for (size_t i = 0; i + 1 < kMaxReplyLines; ++i) reply += "250-line\r\n";
  BOOST_TEST(static_cast<int>(parse_smtp_reply(reply + "250 last\r\n").status) ==
             static_cast<int>(Status::complete));
  SmtpReplyParse parse = parse_smtp_reply(reply + "250-one too many\r\n");
  BOOST_TEST(static_cast<int>(parse.status) == static_cast<int>(Status::malformed));
  BOOST_TEST(parse.error.find("lines") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(ehlo_extensions) {
  SmtpReplyParse parse = parse_smtp_reply(
      "250-mail.example.org greets you\r\n250-size 35882577\r\n250-8BITMIME\r\n"
      "250-AUTH login Plain XOAUTH2\r\n250 SMTPUTF8\r\n");
  SmtpExtensions extensions = parse_ehlo_reply(parse.reply);
  BOOST_TEST(extensions.extended);
  BOOST_TEST(extensions.offers_auth("PLAIN"));
  BOOST_TEST(extensions.offers_auth("LOGIN"));
  BOOST_TEST(!extensions.offers_auth("CRAM-MD5"));
  BOOST_TEST(extensions.size_limit.value_or(0) == 35882577u);
  // The greeting line is no extension, even when it reads like one.
  SmtpExtensions none = parse_ehlo_reply(parse_smtp_reply("250 AUTH PLAIN\r\n").reply);
  BOOST_TEST(none.auth.empty());
  BOOST_TEST(!none.size_limit.has_value());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(smtp_data)

BOOST_AUTO_TEST_CASE(lines_starting_with_a_dot_get_another) {
  BOOST_TEST(dot_stuffed(".\r\n") == "..\r\n.\r\n");
  BOOST_TEST(dot_stuffed("a\r\n.b\r\n..c\r\nd.e\r\n") == "a\r\n..b\r\n...c\r\nd.e\r\n.\r\n");
  BOOST_TEST(dot_stuffed(".first line\r\nsecond\r\n") == "..first line\r\nsecond\r\n.\r\n");
}

BOOST_AUTO_TEST_CASE(the_end_mark_follows_a_line_end) {
  BOOST_TEST(dot_stuffed("") == ".\r\n");
  BOOST_TEST(dot_stuffed("no line end") == "no line end\r\n.\r\n");
  BOOST_TEST(dot_stuffed("x\r\n") == "x\r\n.\r\n");
}

BOOST_AUTO_TEST_CASE(no_line_of_the_message_can_end_the_data) {
  std::string message = "a\r\n.\r\nb\r\n.\r\n";  // a lone "." twice inside
  std::string data = dot_stuffed(message);
  BOOST_TEST(data.find("\r\n.\r\n") == data.size() - 5);  // only the end mark
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(smtp_client_checks)

SocketAddress inet(int family, const char* text) {
  SocketAddress address;
  if (family == AF_INET) {
    auto* in4 = reinterpret_cast<sockaddr_in*>(&address.storage);
    in4->sin_family = AF_INET;
    BOOST_REQUIRE(::inet_pton(AF_INET, text, &in4->sin_addr) == 1);
    address.length = sizeof *in4;
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&address.storage);
    in6->sin6_family = AF_INET6;
    BOOST_REQUIRE(::inet_pton(AF_INET6, text, &in6->sin6_addr) == 1);
    address.length = sizeof *in6;
  }
  return address;
}

BOOST_AUTO_TEST_CASE(only_loopback_servers_get_auth_in_clear) {
  BOOST_TEST(is_loopback(inet(AF_INET, "127.0.0.1")));
  BOOST_TEST(is_loopback(inet(AF_INET, "127.45.6.7")));
  BOOST_TEST(is_loopback(inet(AF_INET6, "::1")));
  BOOST_TEST(is_loopback(inet(AF_INET6, "::ffff:127.0.0.1")));
  BOOST_TEST(!is_loopback(inet(AF_INET, "192.0.2.1")));
  BOOST_TEST(!is_loopback(inet(AF_INET, "10.0.0.1")));
  BOOST_TEST(!is_loopback(inet(AF_INET6, "2001:db8::1")));
  BOOST_TEST(!is_loopback(inet(AF_INET6, "::ffff:192.0.2.1")));
  // One address off the machine is enough to refuse: the connection may go to any of them.
  std::vector<SocketAddress> mixed{inet(AF_INET, "127.0.0.1"), inet(AF_INET6, "2001:db8::1")};
  BOOST_CHECK_THROW(refuse_auth_in_clear(mixed, false), FatalError);
  BOOST_CHECK_NO_THROW(refuse_auth_in_clear(mixed, true));
  BOOST_CHECK_NO_THROW(refuse_auth_in_clear({inet(AF_INET6, "::1")}, false));
}

BOOST_AUTO_TEST_CASE(ehlo_names_cannot_carry_a_command) {
  for (const char* good : {"", "mail.example.org", "[192.0.2.1]", "[IPv6:2001:db8::1]"})
    BOOST_CHECK_NO_THROW(check_client_name(good));
  for (const char* bad : {"a b", "x\r\nQUIT", "host\n", "a<b>"})
    BOOST_CHECK_THROW(check_client_name(bad), UsageError);
}

BOOST_AUTO_TEST_CASE(auth_mechanism_names) {
  BOOST_TEST(static_cast<int>(parse_auth_mechanism("PLAIN")) ==
             static_cast<int>(AuthMechanism::plain));
  BOOST_TEST(static_cast<int>(parse_auth_mechanism("login")) ==
             static_cast<int>(AuthMechanism::login));
  BOOST_TEST(static_cast<int>(parse_auth_mechanism("auto")) ==
             static_cast<int>(AuthMechanism::automatic));
  BOOST_CHECK_THROW(parse_auth_mechanism("cram-md5"), UsageError);
}

BOOST_AUTO_TEST_SUITE_END()
