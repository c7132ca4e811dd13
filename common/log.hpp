// Logging: one line per event, written with a single write(2) so that lines from many
// threads or forked children never interleave.
//
// Under systemd (JOURNAL_STREAM set) each line starts with a "<N>" priority prefix that
// journald understands; with --syslog the lines go to syslog(3) instead.
#pragma once

#include <sstream>
#include <string>
#include <string_view>

namespace sockserv {

enum class LogLevel { error = 3, warning = 4, notice = 5, info = 6, debug = 7 };

/// Parses "error", "warning", "notice", "info" or "debug"; throws UsageError otherwise.
LogLevel parse_log_level(std::string_view text);

struct LogSettings {
  std::string program = "sockserv";
  LogLevel level = LogLevel::info;
  bool syslog = false;
};

/// Configures logging; called once by `run` before any thread or child exists.
void configure_logging(const LogSettings& settings);

bool log_enabled(LogLevel level);
void log_line(LogLevel level, std::string_view message);

/// log(LogLevel::info, "listening on ", endpoint): the parts are streamed into one line.
template <typename... Parts>
void log(LogLevel level, const Parts&... parts) {
  if (!log_enabled(level)) return;
  std::ostringstream line;
  (line << ... << parts);
  log_line(level, line.str());
}

template <typename... Parts>
void log_error(const Parts&... parts) {
  log(LogLevel::error, parts...);
}
template <typename... Parts>
void log_warning(const Parts&... parts) {
  log(LogLevel::warning, parts...);
}
template <typename... Parts>
void log_info(const Parts&... parts) {
  log(LogLevel::info, parts...);
}
template <typename... Parts>
void log_debug(const Parts&... parts) {
  log(LogLevel::debug, parts...);
}

}  // namespace sockserv
