// AccessLog: one line per connection when it ends (--access-log FILE|-|syslog), as the
// administrators of tcpserver and xinetd expect: who connected, to what, served by which
// process, for how long, how many bytes each way, and how it ended.
//
//   time=2026-12-01T23:58:36.123Z service=echo-server model=fork pid=4242 tid=4242
//   local=127.0.0.1:7 peer=127.0.0.1:40312 transport=tcp duration=0.000412 in=5 out=5
//   end=closed reason=-
//
// (one line; docs/access-log.md describes every field). The keys always come in this order;
// a value is written bare when it is printable ASCII without spaces, quotes or backslashes,
// else in double quotes with C escapes, so no client-chosen text can forge a line or reach
// an administrator's terminal raw.
//
// Every line is one write(2) on a descriptor opened with O_APPEND: lines from forked
// children and from threads never interleave. Rotation: rename the file, send SIGHUP; the
// server reopens the path, and so does every child and worker before its next line (they
// read a generation number in shared memory), so no line is lost and none goes astray.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <ctime>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "address.hpp"
#include "fd.hpp"
#include "io.hpp"
#include "shared_memory.hpp"

namespace sockserv {

/// How a connection ended: the access log's end= field. A new reason is one enumerator here
/// and one name in end_reason_name(); RequestRunner maps exceptions to them.
enum class EndReason {
  closed,           // the handler finished, or the client closed (a datagram was answered)
  reset,            // the client reset the connection or went away mid-write (ECONNRESET/EPIPE)
  idle_timeout,     // the client stayed silent past --idle-timeout
  message_timeout,  // a message (line, frame, request head) took too long to arrive
  refused,          // not served: reason= says why (denied, per-source, rate, limit)
  drain,            // the server stopped and the drain time ran out
  killed,           // the process serving it died by a signal (reason= names it): a fork child
                    // killed with -9 or crashed; its parent wrote the line
  error,            // anything else: reason= says what
};

/// "closed", "reset", "idle-timeout", "message-timeout", "refused", "drain", "killed",
/// "error".
std::string_view end_reason_name(EndReason reason);

/// The fields of one line, ready to print.
struct AccessLine {
  std::string time;  // the end, ISO 8601 UTC with milliseconds ("2026-12-01T23:58:36.123Z")
  std::string service;
  std::string model;
  pid_t pid = 0;  // the process that served (a fork child, a prefork worker, the server)
  pid_t tid = 0;  // its thread (prethread worker, epoll loop; = pid when single-threaded)
  std::string local;
  std::string peer;
  std::string transport;  // tcp, udp, unix, unixgram
  double duration = 0;    // seconds from accept (or receipt) to close
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  EndReason end = EndReason::closed;
  std::string reason;  // refused: denied, per-source, rate, limit; error: what; else empty
};

/// The line, with its '\n' (at most kMaxAccessLine bytes: the reason is cut to fit).
std::string format_access_line(const AccessLine& line);
/// One value as the format writes it: bare, or quoted with \" \\ \n \r \t \xHH escapes.
std::string access_log_value(std::string_view text);
inline constexpr size_t kMaxAccessLine = 4096;  // PIPE_BUF: whole even on a pipe

/// One HTTP request as the Common Log Format writes it (http-server: one line per request,
/// instead of the per-connection line):
///   127.0.0.1 - - [02/Dec/2026:03:10:00 +0000] "GET /index.html HTTP/1.1" 200 1234
struct RequestLogEntry {
  SocketAddress peer;        // written as its numeric host ("::1", "127.0.0.1")
  std::string request_line;  // as received ("" when there was none: written as "-")
  int status = 0;
  uint64_t body_bytes = 0;  // the body sent, headers left out (0 is written "-")
};

/// The CLF line, with its '\n', at `when` (local time with its UTC offset, as Apache writes
/// it). The request line is quoted with \" \\ and \xHH for controls and 8-bit bytes, and cut
/// so the line fits kMaxAccessLine.
std::string format_clf_line(const RequestLogEntry& entry, std::time_t when);

/// What one connection (or datagram exchange) did, gathered while it ran.
struct AccessRecord {
  SocketAddress local;
  SocketAddress peer;
  bool datagram = false;
  Clock::time_point started = Clock::now();
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  EndReason end = EndReason::closed;
  std::string reason;
  pid_t served_by = 0;  // the process that served it when another one writes the line (a fork
                        // child's, written by its parent after the child was killed); 0: this one
};

class AccessLog {
 public:
  /// `where`: "" (off), "-" (standard output), "syslog" (daemon.info), or a file path, opened
  /// now (before privileges are dropped) for appending. Throws FatalError when it cannot be.
  AccessLog(std::string where, std::string service, std::string model);
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  bool enabled() const { return kind_ != Kind::off; }
  /// Writes the line for `record` (a no-op when off). Safe from any thread and process.
  void write(const AccessRecord& record);
  /// Writes the Common Log Format line of one HTTP request (a no-op when off): the same
  /// destination, the same rotation, one write(2) per line.
  void write(const RequestLogEntry& entry);
  /// SIGHUP: a file is reopened at its path (after a rotation by rename), here and, before
  /// their next line, in every child and worker. Returns what was done, for the log.
  std::string reopen();

 private:
  enum class Kind { off, file, standard_output, syslog };
  struct Shared {
    std::atomic<uint64_t> generation{0};  // bumped by reopen(); children follow it
  };
  void follow_rotation();
  bool open_file();
  void emit(std::string text);

  Kind kind_ = Kind::off;
  std::string path_;
  std::string service_;
  std::string model_;
  UniqueFd file_;  // Kind::file: its number never changes, reopen dup3()s over it
  std::optional<SharedMemory<Shared>> shared_;  // for a file: made before any fork
  std::atomic<uint64_t> opened_generation_{0};  // the generation this process has open
  std::mutex reopen_mutex_;                     // one thread of a process reopens
};

}  // namespace sockserv
