// Building mail: RFC 2047 encoded words and folding to 78 columns, RFC 2231 parameters,
// addresses, base64 line length, canonical CRLF text, content types and the RFC 5322 date.
#include "mime.hpp"

#include <openssl/evp.h>

#include <boost/test/unit_test.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "base64.hpp"
#include "error.hpp"
#include "mime_header.hpp"
#include "utf8.hpp"

using namespace sockserv;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t end = text.find("\r\n"); end != std::string::npos; end = text.find("\r\n", start)) {
    lines.push_back(text.substr(start, end - start));
    start = end + 2;
  }
  BOOST_TEST(start == text.size(), "text ends with CRLF");
  return lines;
}

// Base64 decoded exactly: EVP_DecodeBlock writes a zero byte for each '=' of padding.
std::string base64_decoded(const std::string& text) {
  std::string out(text.size(), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  BOOST_REQUIRE(n >= 0);
  size_t padding = text.ends_with("==") ? 2 : text.ends_with("=") ? 1 : 0;
  out.resize(static_cast<size_t>(n) - padding);
  return out;
}

// The text of a field made of encoded words only, decoded as a mail reader does: unfold,
// drop the space between words, decode each word. Checks each word on the way.
std::string decoded_words(const std::string& field, const std::string& name) {
  std::string text;
  std::istringstream words(field.substr(name.size() + 1));
  for (std::string word; words >> word;) {
    BOOST_TEST(word.size() <= kMaxEncodedWord);
    BOOST_REQUIRE(word.starts_with("=?UTF-8?B?"));
    BOOST_REQUIRE(word.ends_with("?="));
    std::string bytes = base64_decoded(word.substr(10, word.size() - 12));
    BOOST_TEST(is_valid_utf8(bytes), "a word holds whole characters: " << word);
    text += bytes;
  }
  return text;
}

void check_line_lengths(const std::string& field) {
  for (const std::string& line : lines_of(field)) {
    BOOST_TEST(line.size() <= kMaxHeaderLine, "line of " << line.size() << ": " << line);
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(mime_headers)

BOOST_AUTO_TEST_CASE(short_ascii_subject_stays_as_it_is) {
  BOOST_TEST(text_field("Subject", "Hello world") == "Subject: Hello world\r\n");
}

BOOST_AUTO_TEST_CASE(long_ascii_subject_folds_at_spaces) {
  std::string subject;
  for (int i = 0; i < 30; ++i) subject += (i ? " word" : "word") + std::to_string(i);
  std::string field = text_field("Subject", subject);
  check_line_lengths(field);
  BOOST_TEST(lines_of(field).size() > 1u);
  // Unfolding (removing each CRLF) gives the subject back.
  std::string unfolded = field;
  for (size_t at; (at = unfolded.find("\r\n ")) != std::string::npos;) unfolded.erase(at, 2);
  BOOST_TEST(unfolded == "Subject: " + subject + "\r\n");
}

BOOST_AUTO_TEST_CASE(chinese_subject_becomes_folded_encoded_words) {
  std::string subject =
      "你好，世界！这是一个很长的中文主题，用来测试折行是否正确，再长一点再长一点再长一点";
  std::string field = text_field("Subject", subject);
  check_line_lengths(field);
  BOOST_TEST(lines_of(field).size() >= 3u);
  BOOST_TEST(field.starts_with("Subject: =?UTF-8?B?"));  // the first word fits the first line
  BOOST_TEST(decoded_words(field, "Subject") == subject);
}

BOOST_AUTO_TEST_CASE(encoded_word_form) {
  BOOST_TEST(encoded_word("你好") == "=?UTF-8?B?5L2g5aW9?=");
}

BOOST_AUTO_TEST_CASE(text_that_would_not_survive_as_words_is_encoded) {
  for (const std::string& subject : std::vector<std::string>{
           "=?UTF-8?B?5L2g?=", "two  spaces", " leading", "tab\there", std::string(90, 'x')}) {
    std::string field = text_field("Subject", subject);
    check_line_lengths(field);
    BOOST_TEST(decoded_words(field, "Subject") == subject);
  }
}

BOOST_AUTO_TEST_CASE(four_byte_characters_are_never_split) {
  std::string emoji;
  for (int i = 0; i < 40; ++i) emoji += "\xF0\x9F\x98\x80";  // U+1F600
  std::string field = text_field("Subject", "x" + emoji);
  check_line_lengths(field);
  BOOST_TEST(decoded_words(field, "Subject") == "x" + emoji);
}

BOOST_AUTO_TEST_CASE(display_names) {
  BOOST_TEST(address_field("To", {{"", "a@example.org"}}) == "To: a@example.org\r\n");
  BOOST_TEST(address_field("To", {{"Li Si", "ls@example.org"}, {"", "c@example.org"}}) ==
             "To: Li Si <ls@example.org>, c@example.org\r\n");
  BOOST_TEST(address_field("From", {{"Si, Li", "ls@example.org"}}) ==
             "From: \"Si, Li\" <ls@example.org>\r\n");
  BOOST_TEST(address_field("From", {{"张三", "zs@example.org"}}) ==
             "From: =?UTF-8?B?5byg5LiJ?= <zs@example.org>\r\n");
}

BOOST_AUTO_TEST_CASE(many_recipients_fold_between_addresses) {
  std::vector<Mailbox> to;
  for (int i = 0; i < 12; ++i)
    to.push_back({"用户" + std::to_string(i), "user" + std::to_string(i) + "@example.org"});
  std::string field = address_field("To", to);
  check_line_lengths(field);
  BOOST_TEST(lines_of(field).size() > 3u);
}

BOOST_AUTO_TEST_CASE(mailbox_parsing) {
  Mailbox plain = parse_mailbox("a@example.org", "--to");
  BOOST_TEST(plain.address == "a@example.org");
  BOOST_TEST(plain.display_name.empty());
  Mailbox named = parse_mailbox("  张三 <zs@example.org> ", "--from");
  BOOST_TEST(named.display_name == "张三");
  BOOST_TEST(named.address == "zs@example.org");
  Mailbox quoted = parse_mailbox("\"Si, \\\"Li\\\"\" <ls@example.org>", "--to");
  BOOST_TEST(quoted.display_name == "Si, \"Li\"");
}

BOOST_AUTO_TEST_CASE(bad_mailboxes_are_usage_errors) {
  for (std::string bad :
       {"", "no-at-sign", "@example.org", "a@", "a b@example.org", "a@exa mple.org",
        "用户@example.org", "Name <a@example.org>\r\nBcc: x", "a@example.org\nBcc: b@example.org",
        "<a@b>c@d>", "\xff <a@example.org>"}) {
    BOOST_CHECK_THROW(parse_mailbox(bad, "--to"), UsageError);
  }
}

BOOST_AUTO_TEST_CASE(ascii_file_name_is_a_quoted_parameter) {
  FoldedHeader field("Content-Disposition");
  field.add("attachment");
  field.add_parameter("filename", "report 2026.pdf");
  BOOST_TEST(field.text() == "Content-Disposition: attachment; filename=\"report 2026.pdf\"\r\n");
}

BOOST_AUTO_TEST_CASE(non_ascii_file_name_uses_rfc2231) {
  FoldedHeader field("Content-Disposition");
  field.add("attachment");
  field.add_parameter("filename", "说明.txt");
  BOOST_TEST(field.text() ==
             "Content-Disposition: attachment; filename*=UTF-8''%E8%AF%B4%E6%98%8E.txt\r\n");
}

BOOST_AUTO_TEST_CASE(long_file_name_is_cut_into_sections_of_whole_characters) {
  std::string name;
  for (int i = 0; i < 20; ++i) name += "文件";
  FoldedHeader field("Content-Disposition");
  field.add("attachment");
  field.add_parameter("filename", name + ".txt");
  std::string text = field.text();
  check_line_lengths(text);
  BOOST_TEST(text.find("filename*0*=UTF-8''%E6%96%87") != std::string::npos);
  BOOST_TEST(text.find("filename*1*=%") != std::string::npos);
  // Every section starts at a character: never with a continuation byte (%80..%BF).
  for (size_t at = text.find("*="); at != std::string::npos; at = text.find("*=", at + 1)) {
    std::string start = text.substr(at + 2, 3);
    if (start == "UTF") continue;
    BOOST_TEST(!(start[1] == '8' || start[1] == '9' || start[1] == 'A' || start[1] == 'B'),
               "section starts with " << start);
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(mime_body)

BOOST_AUTO_TEST_CASE(base64_lines_are_76_characters) {
  std::string data;
  for (int i = 0; i < 1000; ++i) data += static_cast<char>(i % 256);
  std::string text = base64_lines(data);
  std::vector<std::string> lines = lines_of(text);
  BOOST_TEST(lines.size() == (1000u + 56) / 57);
  for (size_t i = 0; i + 1 < lines.size(); ++i) BOOST_TEST(lines[i].size() == 76u);
  BOOST_TEST(lines.back().size() <= 76u);
  std::string joined;
  for (const std::string& line : lines) joined += line;
  BOOST_TEST(joined == base64(data));
  BOOST_TEST(base64_lines("").empty());
  BOOST_TEST(base64("any carnal pleas") == "YW55IGNhcm5hbCBwbGVhcw==");
}

BOOST_AUTO_TEST_CASE(canonical_text_has_crlf_everywhere) {
  BOOST_TEST(canonical_text("a\nb\r\nc\rd") == "a\r\nb\r\nc\r\nd\r\n");
  BOOST_TEST(canonical_text("") == "");
  BOOST_TEST(canonical_text("\n\n") == "\r\n\r\n");
}

BOOST_AUTO_TEST_CASE(seven_bit_text) {
  BOOST_TEST(is_7bit_text("plain\r\ntext\r\n"));
  BOOST_TEST(!is_7bit_text("中文\r\n"));
  BOOST_TEST(!is_7bit_text("bare\nlf\r\n"));
  BOOST_TEST(!is_7bit_text(std::string("nul\0", 4) + "\r\n"));
  BOOST_TEST(is_7bit_text(std::string(998, 'x') + "\r\n"));
  BOOST_TEST(!is_7bit_text(std::string(999, 'x') + "\r\n"));
}

BOOST_AUTO_TEST_CASE(content_types_by_extension) {
  BOOST_TEST(content_type_for("photo.JPG") == "image/jpeg");
  BOOST_TEST(content_type_for("notes.txt") == "text/plain");
  BOOST_TEST(content_type_for("archive.tar.gz") == "application/gzip");
  BOOST_TEST(content_type_for("blob") == "application/octet-stream");
  BOOST_TEST(content_type_for(".bashrc") == "application/octet-stream");
  BOOST_TEST(content_type_for("x.unknown") == "application/octet-stream");
}

// The date in the given POSIX TZ (a rule, not a zoneinfo name: no tzdata needed).
std::string date_in(const char* zone, std::time_t when) {
  setenv("TZ", zone, 1);
  tzset();
  std::string date = rfc5322_date(when);
  unsetenv("TZ");
  tzset();
  return date;
}

BOOST_AUTO_TEST_CASE(date_in_rfc5322_form) {
  // 1795000000 is Wed 2026-11-18 11:06:40 UTC.
  BOOST_TEST(date_in("CST-8", 1'795'000'000) == "Wed, 18 Nov 2026 19:06:40 +0800");
  BOOST_TEST(date_in("NST+3:30", 1'795'000'000) == "Wed, 18 Nov 2026 07:36:40 -0330");
  BOOST_TEST(date_in("UTC0", 0) == "Thu, 01 Jan 1970 00:00:00 +0000");
}

BOOST_AUTO_TEST_CASE(message_without_attachments_is_one_text_part) {
  MailContent content{.from = {"", "a@example.org"},
                      .to = {{"", "b@example.org"}},
                      .subject = "Hi",
                      .body = "line\n.dot\n"};
  std::string message = build_message(content, 1'795'000'000);
  BOOST_TEST(
      message.starts_with("From: a@example.org\r\nTo: b@example.org\r\nSubject: Hi\r\n"
                          "Date: Wed, 18 Nov 2026 "));
  BOOST_TEST(message.find("Cc:") == std::string::npos);
  BOOST_TEST(message.find("MIME-Version: 1.0\r\n") != std::string::npos);
  BOOST_TEST(message.find("Message-ID: <") != std::string::npos);
  BOOST_TEST(message.find("@example.org>\r\n") != std::string::npos);
  BOOST_TEST(message.find("Content-Type: text/plain; charset=utf-8\r\n"
                          "Content-Transfer-Encoding: 7bit\r\n\r\nline\r\n.dot\r\n") !=
             std::string::npos);
  BOOST_TEST(message.find("multipart") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(message_with_attachments_is_multipart_with_an_unused_boundary) {
  MailContent content{
      .from = {"", "a@example.org"},
      .to = {{"", "b@example.org"}},
      .cc = {{"C", "c@example.org"}, {"", "d@example.org"}},
      .subject = "Hi",
      .body = "body\n",
      .attachments = {{"a.bin", std::string("\0\x01\xff", 3)}, {"b.txt", "text\n"}}};
  std::string message = build_message(content, 1'795'000'000);
  BOOST_TEST(message.find("\r\nCc: C <c@example.org>, d@example.org\r\n") != std::string::npos);
  size_t at = message.find("boundary=\"");
  BOOST_REQUIRE(at != std::string::npos);
  std::string boundary = message.substr(at + 10, message.find('"', at + 10) - at - 10);
  size_t delimiters = 0;
  for (size_t pos = message.find("--" + boundary); pos != std::string::npos;
       pos = message.find("--" + boundary, pos + 1))
    ++delimiters;
  BOOST_TEST(delimiters == 4u);  // three parts and the close
  BOOST_TEST(message.ends_with("--" + boundary + "--\r\n"));
  BOOST_TEST(message.find("Content-Type: text/plain; charset=utf-8; name=\"b.txt\"") !=
             std::string::npos);
  BOOST_TEST(message.find("AAH/") != std::string::npos);  // base64 of 00 01 ff
  for (size_t i = 0; i < message.size(); ++i) {
    if (message[i] == '\n') BOOST_REQUIRE(i > 0 && message[i - 1] == '\r');
  }
}

BOOST_AUTO_TEST_CASE(subject_and_body_are_checked) {
  MailContent content{
      .from = {"", "a@example.org"}, .to = {{"", "b@example.org"}}, .subject = "a\r\nBcc: x"};
  BOOST_CHECK_THROW(build_message(content, 0), UsageError);
  content.subject = "\xC3";
  BOOST_CHECK_THROW(build_message(content, 0), UsageError);
  content.subject = "ok";
  content.body = "\xff\xfe";
  BOOST_CHECK_THROW(build_message(content, 0), UsageError);
}

BOOST_AUTO_TEST_SUITE_END()
