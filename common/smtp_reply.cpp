// The SMTP reply grammar of RFC 5321 (4.2):
//   Reply-line = *( Reply-code "-" [ textstring ] CRLF ) Reply-code [ SP textstring ] CRLF
//   Reply-code = %x32-35 %x30-35 %x30-39
#include "smtp_reply.hpp"

namespace sockserv {
namespace {

bool is_digit(char c, char low, char high) {
  return c >= low && c <= high;
}

bool is_reply_code(std::string_view line) {
  return line.size() >= 3 && is_digit(line[0], '2', '5') && is_digit(line[1], '0', '5') &&
         is_digit(line[2], '0', '9');
}

SmtpReplyParse malformed(std::string error) {
  SmtpReplyParse parse;
  parse.status = SmtpReplyParse::Status::malformed;
  parse.error = std::move(error);
  return parse;
}

}  // namespace

std::string SmtpReply::describe() const {
  std::string text = std::to_string(code);
  for (size_t i = 0; i < lines.size(); ++i) {
    text += i == 0 ? " " : " / ";
    text += lines[i];
  }
  return text;
}

SmtpReplyParse parse_smtp_reply(std::string_view bytes) {
  SmtpReplyParse parse;
  size_t at = 0;
  for (size_t count = 1;; ++count) {
    if (count > kMaxReplyLines)
      return malformed("a reply of more than " + std::to_string(kMaxReplyLines) + " lines");
    std::string_view rest = bytes.substr(at);
    size_t newline = rest.substr(0, kMaxReplyLine).find('\n');
    if (newline == std::string_view::npos) {
      if (rest.size() >= kMaxReplyLine)
        return malformed("a reply line longer than " + std::to_string(kMaxReplyLine) + " bytes");
      return parse;  // incomplete: the line has not ended yet
    }
    std::string_view line = rest.substr(0, newline);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!is_reply_code(line)) return malformed("a reply line that does not start with a code");
    int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (count > 1 && code != parse.reply.code)
      return malformed("a reply whose lines have different codes");
    bool last = line.size() == 3 || line[3] == ' ';
    if (!last && line[3] != '-') return malformed("a reply code followed by neither ' ' nor '-'");
    parse.reply.code = code;
    parse.reply.lines.emplace_back(line.size() > 4 ? line.substr(4) : std::string_view());
    at += newline + 1;
    if (last) {
      parse.status = SmtpReplyParse::Status::complete;
      parse.length = at;
      return parse;
    }
  }
}

}  // namespace sockserv
