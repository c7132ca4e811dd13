// Where log lines go: stderr (plain or with journald prefixes) or syslog.
#include "log.hpp"

#include <syslog.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "error.hpp"
#include "escape.hpp"

namespace sockserv {
namespace {

// Written once by configure_logging() before threads start, only read afterwards.
struct LogState {
  LogSettings settings;
  bool journald = false;
};

LogState& state() {
  static LogState instance;
  return instance;
}

std::string_view level_word(LogLevel level) {
  switch (level) {
    case LogLevel::error:
      return "error: ";
    case LogLevel::warning:
      return "warning: ";
    default:
      return "";
  }
}

void write_whole_line(const std::string& line) {
  // One write(2) per line keeps lines whole; a short write of a log line is not retried
  // past a few tries because logging must never block a server for long.
  std::string_view rest = line;
  for (int tries = 0; tries < 8 && !rest.empty(); ++tries) {
    ssize_t n = ::write(STDERR_FILENO, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    rest.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace

LogLevel parse_log_level(std::string_view text) {
  if (text == "error") return LogLevel::error;
  if (text == "warning") return LogLevel::warning;
  if (text == "notice") return LogLevel::notice;
  if (text == "info") return LogLevel::info;
  if (text == "debug") return LogLevel::debug;
  throw UsageError("unknown log level '" + std::string(text) +
                   "' (use error, warning, notice, info or debug)");
}

void configure_logging(const LogSettings& settings) {
  LogState& s = state();
  s.settings = settings;
  // systemd sets JOURNAL_STREAM when stderr is connected to the journal.
  s.journald = std::getenv("JOURNAL_STREAM") != nullptr;
  if (settings.syslog) {
    ::openlog(s.settings.program.c_str(), LOG_PID | LOG_NDELAY, LOG_DAEMON);
  }
}

bool log_enabled(LogLevel level) {
  return level <= state().settings.level;
}

void log_line(LogLevel level, std::string_view message) {
  // The last line of defence: client text is escaped where it is logged (client_text), but
  // an error message may quote a client's bytes too (a JSON parser's "last read: ..."). No
  // raw newline, ESC or other control ever reaches the log, whatever the caller passed.
  std::string escaped;
  if (!is_safe_text(message)) {
    escaped = escape_text(message, EscapeStyle::terminal);
    message = escaped;
  }
  const LogState& s = state();
  if (s.settings.syslog) {
    ::syslog(static_cast<int>(level), "%.*s", static_cast<int>(message.size()), message.data());
    return;
  }
  std::string line;
  if (s.journald) {
    // journald reads "<6>" as priority 6 (info) and adds its own time and pid.
    line = "<" + std::to_string(static_cast<int>(level)) + ">";
  } else {
    line = s.settings.program + "[" + std::to_string(::getpid()) + "]: ";
  }
  line += level_word(level);
  line += message;
  line += '\n';
  write_whole_line(line);
}

}  // namespace sockserv
