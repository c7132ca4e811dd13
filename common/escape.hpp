// Escaping text that a peer chose, before it reaches a log line or a terminal.
//
// A client's bytes must never act on whoever reads them: a newline forges a log line, ESC
// starts a terminal escape sequence (clear the screen, set the window title, hide text), a
// carriage return rewrites the start of the line. Every such byte is written as \xNN.
#pragma once

#include <ostream>
#include <string>
#include <string_view>

namespace sockserv {

/// Which bytes stay as they are.
enum class EscapeStyle {
  /// For logs: also a backslash is escaped, so an escaped line is unambiguous (a name that
  /// holds the four characters "\x0a" is logged as "\x5cx0a").
  log,
  /// For a person's terminal (chat, listings): backslashes stay readable.
  terminal,
};

/// `text` with every C0 control (including tab, CR, LF, ESC), DEL, every C1 control
/// (U+0080..U+009F in UTF-8, and their raw 8-bit bytes), every byte of invalid UTF-8 and, in
/// the log style, the backslash written as \xNN. Printable ASCII and valid UTF-8 stay.
std::string escape_text(std::string_view text, EscapeStyle style = EscapeStyle::log);

/// True when `text` has nothing escape_text(text, terminal) would change.
bool is_safe_text(std::string_view text);

/// A client-supplied string on its way into a log line: log_info(peer, ": get ",
/// client_text(name)) streams it escaped. Holds a view: use it within the log call.
struct ClientText {
  std::string_view text;
};
inline ClientText client_text(std::string_view text) {
  return ClientText{text};
}
std::ostream& operator<<(std::ostream& out, ClientText client);

}  // namespace sockserv
