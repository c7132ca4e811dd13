// libFuzzer target for the SMTP reply parser (common/smtp_reply.cpp), which reads what any
// server on the network sends. Whatever the bytes: no crash; a complete reply is never
// longer than the bytes given, has a code 200..559, one line at least and no more than
// kMaxReplyLines; the same verdict comes back from the reply's own bytes alone; one byte
// less is never complete; an incomplete parse never holds a line of kMaxReplyLine bytes.
// Build and run: make fuzz-smoke (a fixed number of runs) or make fuzz (seeds: corpus/smtp_reply)
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "smtp_reply.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using sockserv::SmtpReplyParse;
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  SmtpReplyParse parse = sockserv::parse_smtp_reply(bytes);
  if (parse.status == SmtpReplyParse::Status::malformed && parse.error.empty()) __builtin_trap();
  if (parse.status == SmtpReplyParse::Status::incomplete &&
      bytes.substr(bytes.rfind('\n') + 1).size() >= sockserv::kMaxReplyLine)
    __builtin_trap();
  if (parse.status != SmtpReplyParse::Status::complete) return 0;
  const sockserv::SmtpReply& reply = parse.reply;
  if (parse.length == 0 || parse.length > size || bytes[parse.length - 1] != '\n') __builtin_trap();
  if (reply.code < 200 || reply.code > 559) __builtin_trap();
  if (reply.lines.empty() || reply.lines.size() > sockserv::kMaxReplyLines) __builtin_trap();
  SmtpReplyParse alone = sockserv::parse_smtp_reply(bytes.substr(0, parse.length));
  if (alone.status != SmtpReplyParse::Status::complete || alone.length != parse.length ||
      alone.reply.lines != reply.lines)
    __builtin_trap();
  SmtpReplyParse shorter = sockserv::parse_smtp_reply(bytes.substr(0, parse.length - 1));
  if (shorter.status == SmtpReplyParse::Status::complete) __builtin_trap();
  return 0;
}
