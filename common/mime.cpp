// Building a MIME message. Try it: echo hi | mail-client ... --attach photo.jpg, then look at
// what the server received: every header line within 78 columns, the body's CRLFs, the
// boundary between parts.
#include "mime.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <stdexcept>

#include "base64.hpp"
#include "error.hpp"
#include "utf8.hpp"

namespace sockserv {
namespace {

// RFC 5322 2.1.1: a line is at most 998 characters, CRLF excluded.
constexpr size_t kMaxTextLine = 998;

std::string random_hex(size_t bytes) {
  std::vector<unsigned char> random(bytes);
  if (RAND_bytes(random.data(), static_cast<int>(bytes)) != 1)
    throw std::runtime_error("RAND_bytes: no random numbers for a Message-ID");
  std::string hex;
  for (unsigned char b : random) {
    char two[3];
    std::snprintf(two, sizeof two, "%02x", b);
    hex += two;
  }
  return hex;
}

std::string domain_of(const std::string& address) {
  return address.substr(address.rfind('@') + 1);
}

// A text part: 7bit when the text allows it, else base64 (UTF-8 beyond ASCII, long lines).
std::string text_part(std::string_view canonical) {
  bool plain = is_7bit_text(canonical);
  std::string part = "Content-Type: text/plain; charset=utf-8\r\n";
  part += plain ? "Content-Transfer-Encoding: 7bit\r\n\r\n"
                : "Content-Transfer-Encoding: base64\r\n\r\n";
  part += plain ? std::string(canonical) : base64_lines(canonical);
  return part;
}

std::string attachment_part(const Attachment& attachment) {
  std::string type = content_type_for(attachment.file_name);
  if (type.starts_with("text/") && is_valid_utf8(attachment.content)) type += "; charset=utf-8";
  FoldedHeader content_type("Content-Type");
  content_type.add(type);
  content_type.add_parameter("name", attachment.file_name);  // for mail readers of the 1990s
  FoldedHeader disposition("Content-Disposition");
  disposition.add("attachment");
  disposition.add_parameter("filename", attachment.file_name);
  return content_type.text() + "Content-Transfer-Encoding: base64\r\n" + disposition.text() +
         "\r\n" + base64_lines(attachment.content);
}

// A boundary that occurs in no part: "=_" cannot appear in base64, and the 7bit body is
// checked (RFC 2046 5.1.1: the boundary must not occur in the encapsulated text).
std::string boundary_for(const std::vector<std::string>& parts) {
  for (int attempt = 0; attempt < 8; ++attempt) {
    std::string boundary = "=_sockserv_" + random_hex(12);
    bool clash = std::any_of(parts.begin(), parts.end(), [&](const std::string& part) {
      return part.find("--" + boundary) != std::string::npos;
    });
    if (!clash) return boundary;
  }
  throw std::runtime_error("no MIME boundary found that the message does not contain");
}

std::string multipart_body(const std::vector<std::string>& parts) {
  std::string boundary = boundary_for(parts);
  std::string body = "Content-Type: multipart/mixed; boundary=\"" + boundary + "\"\r\n\r\n" +
                     "This is a MIME message in several parts.\r\n";
  for (const std::string& part : parts) body += "\r\n--" + boundary + "\r\n" + part;
  // The CRLF before each delimiter belongs to the delimiter (RFC 2046 5.1.1): a part that
  // ends in CRLF keeps it.
  return body + "\r\n--" + boundary + "--\r\n";
}

}  // namespace

std::string build_message(const MailContent& content, std::time_t now) {
  if (!is_valid_utf8(content.subject)) throw UsageError("--subject is not UTF-8");
  if (content.subject.find_first_of("\r\n") != std::string::npos ||
      content.subject.find('\0') != std::string::npos)
    throw UsageError("--subject must be one line (a line break would start a new header)");
  if (!is_valid_utf8(content.body))
    throw UsageError("the body on stdin is not UTF-8 text (send other data with --attach)");
  std::string message = address_field("From", {content.from}) + address_field("To", content.to);
  if (!content.cc.empty()) message += address_field("Cc", content.cc);
  message += text_field("Subject", content.subject);
  message += "Date: " + rfc5322_date(now) + "\r\n";
  message += "Message-ID: <" + random_hex(16) + "@" + domain_of(content.from.address) + ">\r\n";
  message += "MIME-Version: 1.0\r\n";
  std::string text = text_part(canonical_text(content.body));
  if (content.attachments.empty()) return message + text;
  std::vector<std::string> parts{text};
  for (const Attachment& attachment : content.attachments)
    parts.push_back(attachment_part(attachment));
  return message + multipart_body(parts);
}

std::string canonical_text(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 32 + 2);
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r' || text[i] == '\n') {
      if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      out += "\r\n";
    } else {
      out += text[i];
    }
  }
  if (!out.empty() && !out.ends_with("\r\n")) out += "\r\n";
  return out;
}

bool is_7bit_text(std::string_view text) {
  size_t line = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c == 0 || c >= 0x80) return false;
    if (c == '\r') {
      if (i + 1 >= text.size() || text[i + 1] != '\n') return false;
      ++i;
      line = 0;
    } else if (c == '\n') {
      return false;  // a bare LF
    } else if (++line > kMaxTextLine) {
      return false;
    }
  }
  return true;
}

std::string content_type_for(std::string_view file_name) {
  struct Type {
    std::string_view extension, type;
  };
  static constexpr std::array<Type, 24> kTypes{{
      {"txt", "text/plain"},         {"text", "text/plain"},
      {"csv", "text/csv"},           {"html", "text/html"},
      {"htm", "text/html"},          {"md", "text/markdown"},
      {"xml", "application/xml"},    {"json", "application/json"},
      {"pdf", "application/pdf"},    {"zip", "application/zip"},
      {"gz", "application/gzip"},    {"tar", "application/x-tar"},
      {"png", "image/png"},          {"jpg", "image/jpeg"},
      {"jpeg", "image/jpeg"},        {"gif", "image/gif"},
      {"svg", "image/svg+xml"},      {"webp", "image/webp"},
      {"mp3", "audio/mpeg"},         {"wav", "audio/wav"},
      {"mp4", "video/mp4"},          {"ics", "text/calendar"},
      {"doc", "application/msword"}, {"odt", "application/vnd.oasis.opendocument.text"},
  }};
  size_t dot = file_name.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return "application/octet-stream";
  std::string extension(file_name.substr(dot + 1));
  for (char& c : extension) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const Type& entry : kTypes) {
    if (entry.extension == extension) return std::string(entry.type);
  }
  return "application/octet-stream";
}

std::string rfc5322_date(std::time_t when) {
  static constexpr std::array<const char*, 7> kDays{"Sun", "Mon", "Tue", "Wed",
                                                    "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> kMonths{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::tm local{};
  if (::localtime_r(&when, &local) == nullptr) throw std::runtime_error("localtime_r failed");
  long offset = local.tm_gmtoff / 60;  // minutes east of UTC
  char sign = offset < 0 ? '-' : '+';
  offset = offset < 0 ? -offset : offset;
  char text[64];
  std::snprintf(text, sizeof text, "%s, %02d %s %04d %02d:%02d:%02d %c%02ld%02ld",
                kDays.at(static_cast<size_t>(local.tm_wday)), local.tm_mday,
                kMonths.at(static_cast<size_t>(local.tm_mon)), local.tm_year + 1900, local.tm_hour,
                local.tm_min, local.tm_sec, sign, offset / 60, offset % 60);
  return text;
}

}  // namespace sockserv
