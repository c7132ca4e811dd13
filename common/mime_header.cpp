// Encoded words (RFC 2047), parameter values (RFC 2231) and folding (RFC 5322 2.2.3).
//
// Folding puts CRLF before a space that is already there; unfolding removes the CRLF, so the
// field reads back the same. Between two encoded words the space is dropped on decoding, so
// a text cut into words at character boundaries decodes back to exactly itself.
#include "mime_header.hpp"

#include <algorithm>
#include <cstdio>

#include "base64.hpp"
#include "error.hpp"
#include "utf8.hpp"

namespace sockserv {
namespace {

// "=?UTF-8?B?" and "?=": what an encoded word adds to its base64 text.
constexpr size_t kEncodedWordFrame = 12;
// Tokens fill a line to one column short of the limit: the column left takes the ';' that
// add_parameter puts after the token before it.
constexpr size_t kTokenLine = kMaxHeaderLine - 1;
// The longest RFC 2231 section: "filename*12*=" and 56 characters fit in a line.
constexpr size_t kMaxSection = 56;

bool is_atext(char c) {
  static constexpr std::string_view kSpecials = "!#$%&'*+-/=?^_`{|}~";
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         kSpecials.find(c) != std::string_view::npos;
}

bool is_printable_ascii(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

// Words separated by single spaces, no space at either end: text that folds and unfolds to
// itself. "=?" would make a decoder take a word for an encoded word.
bool folds_as_words(std::string_view text, size_t longest_word) {
  if (text.empty() || !is_printable_ascii(text) || text.find("=?") != std::string_view::npos)
    return false;
  if (text.front() == ' ' || text.back() == ' ' || text.find("  ") != std::string_view::npos)
    return false;
  size_t start = 0;
  for (size_t space = text.find(' '); start <= text.size(); space = text.find(' ', start)) {
    if (std::min(space, text.size()) - start > longest_word) return false;
    if (space == std::string_view::npos) break;
    start = space + 1;
  }
  return true;
}

// The longest prefix of `utf8` of at most `limit` bytes that ends at a character boundary.
size_t whole_characters(std::string_view utf8, size_t limit) {
  size_t taken = 0;
  while (taken < utf8.size()) {
    size_t length = std::max<size_t>(utf8_sequence_length(utf8.substr(taken)), 1);
    if (taken + length > limit) break;
    taken += length;
  }
  return taken;
}

// RFC 2231 attribute-char: what stands as itself in a parameter's extended value.
bool is_attribute_char(unsigned char c) {
  static constexpr std::string_view kAllowed = "!#$&+-.^_`|~";
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         kAllowed.find(static_cast<char>(c)) != std::string_view::npos;
}

// Each character of `utf8` percent-encoded as one piece, so sections never split one.
std::vector<std::string> percent_encoded_characters(std::string_view utf8) {
  std::vector<std::string> pieces;
  while (!utf8.empty()) {
    size_t length = std::max<size_t>(utf8_sequence_length(utf8), 1);
    std::string piece;
    for (char c : utf8.substr(0, length)) {
      auto byte = static_cast<unsigned char>(c);
      if (is_attribute_char(byte)) {
        piece += c;
      } else {
        char hex[4];
        std::snprintf(hex, sizeof hex, "%%%02X", byte);
        piece += hex;
      }
    }
    pieces.push_back(std::move(piece));
    utf8.remove_prefix(std::min(length, utf8.size()));
  }
  return pieces;
}

std::string quoted(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

bool is_address_char(char c) {
  return is_atext(c) || c == '.';
}

// Why `address` is not a plain local@domain, or "" when it is.
std::string address_problem(std::string_view address) {
  if (address.empty()) return "an empty address";
  if (address.size() > 254) return "an address longer than 254 characters";
  if (!is_printable_ascii(address))
    return "a non-ASCII address needs SMTPUTF8 (RFC 6531), which mail-client does not speak";
  size_t at = address.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == address.size())
    return "an address must be local@domain";
  std::string_view local = address.substr(0, at), domain = address.substr(at + 1);
  if (!std::all_of(local.begin(), local.end(), is_address_char))
    return "a character that needs quoting in the local part";
  auto domain_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.';
  };
  if (!std::all_of(domain.begin(), domain.end(), domain_char))
    return "a domain may hold letters, digits, '-' and '.' only";
  return "";
}

std::string_view trimmed(std::string_view text) {
  size_t first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

// The display name in a "\"...\"" quoted string, unquoted.
std::string unquoted(std::string_view name) {
  if (name.size() < 2 || name.front() != '"' || name.back() != '"') return std::string(name);
  std::string out;
  for (size_t i = 1; i + 1 < name.size(); ++i) {
    if (name[i] == '\\' && i + 2 < name.size()) ++i;
    out += name[i];
  }
  return out;
}

void add_display_name(FoldedHeader& field, std::string_view name) {
  bool atoms =
      std::all_of(name.begin(), name.end(), [](char c) { return is_atext(c) || c == ' '; });
  if (atoms && folds_as_words(name, kTokenLine - 1)) {
    field.add_text(name);
  } else if (is_printable_ascii(name) && name.find("=?") == std::string_view::npos &&
             quoted(name).size() <= kMaxEncodedWord) {
    field.add(quoted(name));
  } else {
    field.add_text(name);  // as encoded words: the text is not plain ASCII words
  }
}

}  // namespace

FoldedHeader::FoldedHeader(std::string_view name) : text_(std::string(name) + ":") {}

void FoldedHeader::fold() {
  text_ += "\r\n";
  line_start_ = text_.size();
}

void FoldedHeader::add(std::string_view token) {
  if (line_length() > 0 && line_length() + 1 + token.size() > kTokenLine) fold();
  text_ += ' ';
  text_ += token;
}

void FoldedHeader::add_text(std::string_view utf8) {
  if (!folds_as_words(utf8, kTokenLine - 1)) return add_encoded_words(utf8);
  while (!utf8.empty()) {
    size_t space = std::min(utf8.find(' '), utf8.size());
    add(utf8.substr(0, space));
    utf8.remove_prefix(std::min(space + 1, utf8.size()));
  }
}

void FoldedHeader::add_encoded_words(std::string_view utf8) {
  while (!utf8.empty()) {
    // What this line still holds after the space that separates words; an encoded word
    // carries 3 bytes per 4 base64 characters.
    size_t room = line_length() + 1 < kTokenLine ? kTokenLine - line_length() - 1 : 0;
    room = std::min(room, kMaxEncodedWord);
    size_t bytes = room > kEncodedWordFrame ? (room - kEncodedWordFrame) / 4 * 3 : 0;
    size_t take = whole_characters(utf8, bytes);
    if (take == 0 && line_length() > 0) {  // not even one character fits: a new line
      fold();
      continue;
    }
    take = std::max<size_t>(take, 1);  // a line of its own always holds one character
    add(encoded_word(utf8.substr(0, take)));
    utf8.remove_prefix(take);
  }
}

void FoldedHeader::add_parameter(std::string_view name, std::string_view value) {
  text_ += ';';
  std::string simple = std::string(name) + "=" + quoted(value);
  if (is_printable_ascii(value) && simple.size() + 1 < kTokenLine) return add(simple);
  std::vector<std::string> sections{"UTF-8''"};
  for (std::string& piece : percent_encoded_characters(value)) {
    if (sections.back().size() + piece.size() > kMaxSection) sections.emplace_back();
    sections.back() += piece;
  }
  if (sections.size() == 1) return add(std::string(name) + "*=" + sections[0]);
  for (size_t i = 0; i < sections.size(); ++i) {
    add(std::string(name) + "*" + std::to_string(i) + "*=" + sections[i] +
        (i + 1 < sections.size() ? ";" : ""));
  }
}

std::string encoded_word(std::string_view utf8) {
  return "=?UTF-8?B?" + base64(utf8) + "?=";
}

Mailbox parse_mailbox(std::string_view text, std::string_view option) {
  auto fail = [&](const std::string& why) {
    return UsageError(std::string(option) + " '" + std::string(text) + "': " + why);
  };
  if (!is_valid_utf8(text)) throw fail("not UTF-8");
  if (std::any_of(text.begin(), text.end(), [](char c) {
        return (static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f;
      }))
    throw fail("a control character (a line break would start a new header)");
  Mailbox mailbox;
  std::string_view whole = trimmed(text);
  size_t open = whole.rfind('<');
  if (!whole.empty() && whole.back() == '>' && open != std::string_view::npos) {
    mailbox.address = std::string(whole.substr(open + 1, whole.size() - open - 2));
    mailbox.display_name = unquoted(trimmed(whole.substr(0, open)));
  } else {
    mailbox.address = std::string(whole);
  }
  std::string problem = address_problem(mailbox.address);
  if (!problem.empty()) throw fail(problem);
  return mailbox;
}

std::string address_field(std::string_view name, const std::vector<Mailbox>& mailboxes) {
  FoldedHeader field(name);
  for (size_t i = 0; i < mailboxes.size(); ++i) {
    const Mailbox& mailbox = mailboxes[i];
    std::string comma = i + 1 < mailboxes.size() ? "," : "";
    if (mailbox.display_name.empty()) {
      field.add(mailbox.address + comma);
    } else {
      add_display_name(field, mailbox.display_name);
      field.add("<" + mailbox.address + ">" + comma);
    }
  }
  return field.text();
}

std::string text_field(std::string_view name, std::string_view utf8) {
  FoldedHeader field(name);
  field.add_text(utf8);
  return field.text();
}

}  // namespace sockserv
