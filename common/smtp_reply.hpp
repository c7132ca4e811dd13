// SMTP replies (RFC 5321 section 4.2): a three-digit code and text, on one line or on several
// ("250-first", "250-second", "250 last"), parsed from the bytes a server sent.
//
// The parser is pure (bytes in, verdict out) so that it can be tested and fuzzed without a
// socket. It is bounded: a line longer than kMaxReplyLine or a reply of more than
// kMaxReplyLines lines is malformed, so a hostile server cannot make the client buffer
// without end.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace sockserv {

/// The longest reply line accepted, CRLF included. RFC 5321 (4.5.3.1.5) allows 512; real
/// servers send longer EHLO lines, so we take up to the 1000 of a text line.
inline constexpr size_t kMaxReplyLine = 1000;
/// The most lines one reply may have (an EHLO answer has about a dozen).
inline constexpr size_t kMaxReplyLines = 100;

/// One complete reply.
struct SmtpReply {
  int code = 0;                    // 200..599
  std::vector<std::string> lines;  // the text of each line: no code, separator or line end
  /// The class of the reply: 2 done, 3 go on, 4 try later, 5 refused.
  int kind() const { return code / 100; }
  /// "550 text" for one line, "250 first / second" for several: for an error message.
  std::string describe() const;
};

/// What parse_smtp_reply found at the start of the bytes.
struct SmtpReplyParse {
  enum class Status { incomplete, complete, malformed };
  Status status = Status::incomplete;
  size_t length = 0;  // complete: the bytes the reply took (its last line end included)
  SmtpReply reply;    // complete: the reply
  std::string error;  // malformed: what is wrong, for the message to the user
};

/// Parses the reply at the start of `bytes`. Lines end with CRLF (a bare LF is taken too).
/// incomplete: more bytes are needed; malformed: no more bytes can make it a reply.
SmtpReplyParse parse_smtp_reply(std::string_view bytes);

}  // namespace sockserv
