// A mail message as RFC 5322 and MIME (RFC 2045-2049) want it: headers (From, To, Subject,
// Date, Message-ID, MIME-Version), a text/plain body in UTF-8 and attachments in base64,
// multipart/mixed when there are attachments, CRLF line ends everywhere.
#pragma once

#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include "mime_header.hpp"

namespace sockserv {

struct Attachment {
  std::string file_name;  // UTF-8, without directories
  std::string content;    // the file's bytes
};

/// What the user wants to send.
struct MailContent {
  Mailbox from{};
  std::vector<Mailbox> to{};
  std::vector<Mailbox> cc{};  // in a Cc header; Bcc recipients are the envelope's only
  std::string subject{};      // UTF-8, one line
  std::string body{};         // UTF-8 text; any line ends (LF, CRLF)
  std::vector<Attachment> attachments{};
};

/// The whole message, ready for DATA (before dot-stuffing). `now` gives the Date header.
/// Throws UsageError when the subject or body is not UTF-8 or the subject is not one line.
std::string build_message(const MailContent& content, std::time_t now);

/// `text` with every line end (LF, CRLF, a lone CR) made CRLF, and a CRLF at the end of a
/// last line that had none: MIME's canonical form of text.
std::string canonical_text(std::string_view text);

/// The MIME type of a file by its extension (any letter case), application/octet-stream
/// when the extension is not known.
std::string content_type_for(std::string_view file_name);

/// A date as RFC 5322 3.3 writes it, in local time with its offset:
/// "Wed, 02 Dec 2026 10:56:06 +0800".
std::string rfc5322_date(std::time_t when);

/// True when `text` may be sent as it is (7bit, RFC 2045 2.7): ASCII without NUL or a bare
/// CR or LF, in lines of at most 998 bytes.
bool is_7bit_text(std::string_view text);

}  // namespace sockserv
