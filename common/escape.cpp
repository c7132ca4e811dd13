// Escaping peer-chosen text byte by byte, UTF-8 aware (common/utf8 knows the sequences).
#include "escape.hpp"

#include <cstdint>

#include "utf8.hpp"

namespace sockserv {
namespace {

void append_hex(std::string& out, std::string_view bytes) {
  constexpr char kDigits[] = "0123456789abcdef";
  for (char c : bytes) {
    auto b = static_cast<std::uint8_t>(c);
    out += "\\x";
    out += kDigits[b >> 4];
    out += kDigits[b & 0xF];
  }
}

bool is_c0_or_del(std::uint8_t b) {
  return b < 0x20 || b == 0x7F;
}

// U+0080..U+009F, the C1 controls (CSI is U+009B), are C2 80..C2 9F in UTF-8.
bool is_c1(std::string_view sequence) {
  return sequence.size() == 2 && static_cast<std::uint8_t>(sequence[0]) == 0xC2 &&
         static_cast<std::uint8_t>(sequence[1]) < 0xA0;
}

// How many bytes at the start of `text` (not empty) form one unit, and whether that unit is
// shown as it is. A multi-byte character stays whole when it is valid UTF-8 and not a C1
// control; a byte that starts no valid sequence (raw 8-bit C1 bytes among them) is one unit.
struct Unit {
  size_t length;
  bool plain;
};

Unit next_unit(std::string_view text, EscapeStyle style) {
  auto b = static_cast<std::uint8_t>(text[0]);
  if (b < 0x80) return {1, !is_c0_or_del(b) && !(style == EscapeStyle::log && b == '\\')};
  size_t length = utf8_sequence_length(text);
  if (length == 0) return {1, false};
  return {length, !is_c1(text.substr(0, length))};
}

}  // namespace

std::string escape_text(std::string_view text, EscapeStyle style) {
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    Unit unit = next_unit(text, style);
    if (unit.plain) {
      out += text.substr(0, unit.length);
    } else {
      append_hex(out, text.substr(0, unit.length));
    }
    text.remove_prefix(unit.length);
  }
  return out;
}

bool is_safe_text(std::string_view text) {
  while (!text.empty()) {
    Unit unit = next_unit(text, EscapeStyle::terminal);
    if (!unit.plain) return false;
    text.remove_prefix(unit.length);
  }
  return true;
}

std::ostream& operator<<(std::ostream& out, ClientText client) {
  return out << escape_text(client.text, EscapeStyle::log);
}

}  // namespace sockserv
