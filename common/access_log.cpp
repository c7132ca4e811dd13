// The access log: formatting a line, and the file, standard output or syslog it goes to.
#include "access_log.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "error.hpp"
#include "log.hpp"

namespace sockserv {
namespace {

constexpr size_t kMaxReason = 512;  // bytes of a reason kept: escaped, it still fits a line

bool bare_byte(unsigned char c) {
  return c > 0x20 && c < 0x7f && c != '"' && c != '\\';
}

std::string utc_now_iso8601() {
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  tm parts{};
  ::gmtime_r(&now.tv_sec, &parts);
  char text[80];  // room for any year the types allow, so snprintf never cuts
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", parts.tm_year + 1900,
                parts.tm_mon + 1, parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec,
                now.tv_nsec / 1'000'000);
  return text;
}

std::string transport_of(const AccessRecord& record) {
  if (record.local.family() == AF_UNIX || record.peer.family() == AF_UNIX) {
    return record.datagram ? "unixgram" : "unix";
  }
  return record.datagram ? "udp" : "tcp";
}

// One write(2): with O_APPEND the kernel puts the whole line at the end of the file, however
// many processes and threads write at once. A failed or short write loses (part of) a line,
// which is logged, but never blocks or stops a server.
void write_line(int fd, const std::string& line) {
  ssize_t n;
  do {
    n = ::write(fd, line.data(), line.size());
  } while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(line.size())) {
    log_error("access log: write: ", n < 0 ? std::strerror(errno) : "short write");
  }
}

// The request line inside the CLF's quotes, escaped as Apache's mod_log_config does, and cut
// between escapes to at most `room` bytes (a cut "\x4" would change what the line says).
std::string clf_quoted(std::string_view text, size_t room) {
  std::string out;
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    char piece[5] = {c, '\0'};
    if (c == '"' || c == '\\') {
      piece[0] = '\\';
      piece[1] = c;
      piece[2] = '\0';
    } else if (byte < 0x20 || byte >= 0x7f) {
      std::snprintf(piece, sizeof piece, "\\x%02x", byte);
    }
    if (out.size() + std::strlen(piece) > room) break;
    out += piece;
  }
  return out;
}

}  // namespace

std::string format_clf_line(const RequestLogEntry& entry, std::time_t when) {
  tm parts{};
  ::localtime_r(&when, &parts);
  char time_text[64];
  // "[10/Oct/2000:13:55:36 -0700]": local time and its offset from UTC.
  std::strftime(time_text, sizeof time_text, "[%d/%b/%Y:%H:%M:%S %z]", &parts);
  std::string host = entry.peer.length == 0 ? "-" : host_of(entry.peer);
  if (entry.peer.family() == AF_UNIX) host = "-";  // a unix client has no address to name
  std::string tail = "\" " + std::to_string(entry.status) + " " +
                     (entry.body_bytes == 0 ? "-" : std::to_string(entry.body_bytes)) + "\n";
  std::string head = access_log_value(host) + " - - " + time_text + " \"";
  size_t room = kMaxAccessLine - head.size() - tail.size();
  std::string request = entry.request_line.empty() ? "-" : clf_quoted(entry.request_line, room);
  return head + request + tail;
}

std::string_view end_reason_name(EndReason reason) {
  switch (reason) {
    case EndReason::closed:
      return "closed";
    case EndReason::reset:
      return "reset";
    case EndReason::idle_timeout:
      return "idle-timeout";
    case EndReason::message_timeout:
      return "message-timeout";
    case EndReason::refused:
      return "refused";
    case EndReason::drain:
      return "drain";
    case EndReason::killed:
      return "killed";
    case EndReason::error:
      return "error";
  }
  return "error";
}

std::string access_log_value(std::string_view text) {
  bool bare = !text.empty();
  for (char c : text) bare = bare && bare_byte(static_cast<unsigned char>(c));
  if (bare) return std::string(text);
  std::string quoted = "\"";
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      quoted += '\\';
      quoted += c;
    } else if (c == '\n') {
      quoted += "\\n";
    } else if (c == '\r') {
      quoted += "\\r";
    } else if (c == '\t') {
      quoted += "\\t";
    } else if (byte >= 0x20 && byte < 0x7f) {
      quoted += c;
    } else {
      // Other controls, DEL and every byte of a non-ASCII character: nothing in the log can
      // move an administrator's cursor or change their terminal's state.
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02x", byte);
      quoted += hex;
    }
  }
  return quoted + "\"";
}

std::string format_access_line(const AccessLine& l) {
  char numbers[160];
  std::snprintf(numbers, sizeof numbers, " duration=%.6f in=%" PRIu64 " out=%" PRIu64, l.duration,
                l.bytes_in, l.bytes_out);
  std::string reason = l.reason.substr(0, kMaxReason);
  std::string line =
      "time=" + access_log_value(l.time) + " service=" + access_log_value(l.service) +
      " model=" + access_log_value(l.model) + " pid=" + std::to_string(l.pid) +
      " tid=" + std::to_string(l.tid) + " local=" + access_log_value(l.local) +
      " peer=" + access_log_value(l.peer) + " transport=" + access_log_value(l.transport) +
      numbers + " end=" + std::string(end_reason_name(l.end)) +
      " reason=" + (reason.empty() ? "-" : access_log_value(reason)) + "\n";
  return line;
}

AccessLog::AccessLog(std::string where, std::string service, std::string model)
    : path_(std::move(where)), service_(std::move(service)), model_(std::move(model)) {
  if (path_.empty()) return;
  if (path_ == "-") {
    kind_ = Kind::standard_output;
  } else if (path_ == "syslog") {
    kind_ = Kind::syslog;
  } else {
    kind_ = Kind::file;
    if (!open_file()) {
      throw FatalError(EX_CANTCREAT, "--access-log " + path_ + ": " + std::strerror(errno));
    }
    // Made before any fork(): children and workers see reopen()'s generation.
    shared_.emplace("access log");
  }
}

bool AccessLog::open_file() {
  // O_APPEND: every write lands at the end, whoever else appends. O_CLOEXEC: programs that
  // cmd-server runs must not get the log. 0640: an access log names clients; not for all.
  UniqueFd fresh(::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640));
  if (!fresh) return false;
  if (!file_) {
    file_ = std::move(fresh);
    return true;
  }
  // dup3 puts the new file under the old descriptor number in one step: a thread writing
  // at this moment writes whole into either the old file or the new one, never into a
  // closed or reused descriptor.
  if (::dup3(fresh.get(), file_.get(), O_CLOEXEC) < 0) return false;
  return true;
}

void AccessLog::follow_rotation() {
  uint64_t wanted = (*shared_)->generation.load(std::memory_order_acquire);
  if (wanted == opened_generation_.load(std::memory_order_acquire)) return;
  std::lock_guard lock(reopen_mutex_);
  if (wanted == opened_generation_.load(std::memory_order_relaxed)) return;
  if (!open_file()) {
    log_error("access log: reopening ", path_, ": ", std::strerror(errno),
              "; writing on to the file already open");
  }
  opened_generation_.store(wanted, std::memory_order_release);  // tried once per rotation
}

std::string AccessLog::reopen() {
  switch (kind_) {
    case Kind::off:
      return "no access log to reopen";
    case Kind::standard_output:
      return "the access log goes to standard output: nothing to reopen";
    case Kind::syslog:
      return "the access log goes to syslog: nothing to reopen";
    case Kind::file:
      break;
  }
  (*shared_)->generation.fetch_add(1, std::memory_order_acq_rel);
  follow_rotation();
  return "reopened the access log " + path_;
}

void AccessLog::write(const AccessRecord& record) {
  if (kind_ == Kind::off) return;
  AccessLine line;
  line.time = utc_now_iso8601();
  line.service = service_;
  line.model = model_;
  line.pid = record.served_by != 0 ? record.served_by : ::getpid();
  line.tid = record.served_by != 0 ? record.served_by : ::gettid();
  line.local = to_string(record.local);
  line.peer = to_string(record.peer);
  line.transport = transport_of(record);
  line.duration = std::chrono::duration<double>(Clock::now() - record.started).count();
  line.bytes_in = record.bytes_in;
  line.bytes_out = record.bytes_out;
  line.end = record.end;
  line.reason = record.reason;
  emit(format_access_line(line));
}

void AccessLog::write(const RequestLogEntry& entry) {
  if (kind_ == Kind::off) return;
  emit(format_clf_line(entry, std::time(nullptr)));
}

void AccessLog::emit(std::string text) {
  switch (kind_) {
    case Kind::file:
      follow_rotation();
      write_line(file_.get(), text);
      break;
    case Kind::standard_output:
      write_line(STDOUT_FILENO, text);
      break;
    case Kind::syslog:
      text.pop_back();  // syslog ends the message itself
      ::syslog(LOG_DAEMON | LOG_INFO, "%s", text.c_str());
      break;
    case Kind::off:
      break;
  }
}

}  // namespace sockserv
