// Header fields of a mail message (RFC 5322) that may hold any UTF-8: text as RFC 2047
// encoded words ("=?UTF-8?B?5L2g5aW9?="), parameters such as a file name in RFC 2231 form
// (filename*=UTF-8''%E4%BD%A0), addresses with display names, all folded (CRLF and a space)
// so that no line passes 78 characters where the words allow it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace sockserv {

/// The longest header line we write (RFC 5322 2.1.1: lines SHOULD NOT pass 78 characters).
inline constexpr size_t kMaxHeaderLine = 78;
/// The longest encoded word (RFC 2047 2).
inline constexpr size_t kMaxEncodedWord = 75;

/// One header field, built word by word and folded as it grows.
class FoldedHeader {
 public:
  /// Starts the field "NAME:".
  explicit FoldedHeader(std::string_view name);
  /// Appends " token", on a new line (CRLF SP) when it would not fit on this one. A token is
  /// never split: one longer than a line stands alone on its line.
  void add(std::string_view token);
  /// Appends UTF-8 text: as its words when it is plain ASCII that folds well, else as encoded
  /// words of whole characters, each sized to fit the line it starts.
  void add_text(std::string_view utf8);
  /// Appends the parameter "; name=value" (the ';' goes on the token before): quoted when
  /// `value` is short printable ASCII, else RFC 2231's UTF-8 form, in numbered sections when
  /// it is long ("name*0*=UTF-8''%E4...;" "name*1*=%E5...").
  void add_parameter(std::string_view name, std::string_view value);
  /// The field with its final CRLF.
  std::string text() const { return text_ + "\r\n"; }

 private:
  size_t line_length() const { return text_.size() - line_start_; }
  void fold();
  void add_encoded_words(std::string_view utf8);

  std::string text_;
  size_t line_start_ = 0;
};

/// An address with its optional display name: "Zhang San <zs@example.org>".
struct Mailbox {
  std::string display_name;  // UTF-8, may be empty
  std::string address;       // addr-spec, ASCII: local@domain
};

/// Parses "Name <addr>", "\"Name\" <addr>" or a bare "addr". Throws UsageError naming
/// `option` when the address is not a plain ASCII local@domain or the name is not one line
/// of UTF-8.
Mailbox parse_mailbox(std::string_view text, std::string_view option);

/// "To: Name <a@b>, c@d" with names encoded and folded as needed.
std::string address_field(std::string_view name, const std::vector<Mailbox>& mailboxes);

/// "Subject: ..." (any unstructured field) with the text encoded and folded as needed.
std::string text_field(std::string_view name, std::string_view utf8);

/// The RFC 2047 encoded word for `utf8`: "=?UTF-8?B?" base64 "?=".
std::string encoded_word(std::string_view utf8);

}  // namespace sockserv
