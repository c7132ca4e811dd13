// An HTTP/1.x connection: heads in, answers out, in order, kept alive.
#include "http_session.hpp"

#include <algorithm>
#include <ctime>

#include "access_log.hpp"
#include "error.hpp"
#include "escape.hpp"
#include "log.hpp"

namespace sockserv {
namespace {

// Reads request heads, keeping what follows one head for the next request.
class HeadReader {
 public:
  struct Head {
    enum class Kind { head, closed, refused, timed_out };
    Kind kind = Kind::closed;
    size_t length = 0;  // head: its bytes at the start of buffer()
    int status = 0;     // refused: 414 or 431
  };

  explicit HeadReader(Connection& connection) : connection_(connection) {}

  // The next head, read within the message deadline: from now for the first request, from
  // its first byte for the others (the caller has waited for that byte already).
  Head next() {
    connection_.begin_message("request head");
    try {
      for (;;) {
        buffer_.erase(0, skip_leading_empty_lines(buffer_));
        HeadScan scan = scan_http_head(buffer_);
        if (scan.status == HeadScan::Status::complete) {
          connection_.end_message();
          return {Head::Kind::head, scan.length, 0};
        }
        if (scan.status == HeadScan::Status::too_long) return {Head::Kind::refused, 0, scan.error};
        if (!fill()) return {Head::Kind::closed, 0, 0};  // the client closed mid-head or idle
      }
    } catch (const TimeoutError& e) {
      // A connection that never sent a byte (a browser's unused preconnection) is closed
      // without a word; one that began a request and did not finish it gets its 408.
      if (buffer_.empty()) {
        log_info(connection_.peer_name(), ": ", e.what(), "; nothing received, closing");
        return {Head::Kind::closed, 0, 0};
      }
      log_warning(connection_.peer_name(), ": ", e.what(), "; answering 408");
      return {Head::Kind::timed_out, 0, 408};
    }
  }

  // Takes what the client has already sent, without waiting: nullopt when nothing is there,
  // 0 when it has closed (see Connection::try_read_some).
  std::optional<size_t> fill_now() {
    constexpr size_t kChunk = 16 * 1024;
    size_t old_size = buffer_.size();
    buffer_.resize(old_size + kChunk);
    std::optional<size_t> n =
        connection_.try_read_some(std::as_writable_bytes(std::span(buffer_)).subspan(old_size));
    buffer_.resize(old_size + n.value_or(0));
    return n;
  }

  bool has_buffered() const { return !buffer_.empty(); }
  std::string_view buffer() const { return buffer_; }
  void consume(size_t bytes) { buffer_.erase(0, bytes); }

 private:
  // Appends what the client sends next (at least one byte); false at its end of stream.
  bool fill() {
    constexpr size_t kChunk = 16 * 1024;
    size_t old_size = buffer_.size();
    buffer_.resize(old_size + kChunk);
    size_t n = connection_.read_some(std::as_writable_bytes(std::span(buffer_)).subspan(old_size));
    buffer_.resize(old_size + n);
    return n > 0;
  }

  Connection& connection_;
  std::string buffer_;  // at most kMaxHeadBytes of an unfinished head, plus one chunk
};

class Session {
 public:
  Session(Connection& connection, const HttpResponder& respond, const HttpSessionSettings& settings)
      : connection_(connection), respond_(respond), settings_(settings), reader_(connection) {}

  void run() {
    for (bool first = true;; first = false) {
      if (!first && !reader_.has_buffered() && !wait_for_next_request()) return;
      HeadReader::Head head = reader_.next();
      if (head.kind == HeadReader::Head::Kind::closed) return;
      if (head.kind != HeadReader::Head::Kind::head) {
        refuse(head.status, "");
        return;
      }
      HeadParse parse = parse_http_head(reader_.buffer().substr(0, head.length));
      reader_.consume(head.length);
      if (!parse.request) {
        log_info(connection_.peer_name(), ": ", parse.status, " (", parse.problem, ")");
        refuse(parse.status, parse.request_line);
        return;
      }
      if (!answer(*parse.request, parse.request_line)) return;
    }
  }

 private:
  // Keep-alive: the next request's first byte, within --keepalive-timeout. Running out is
  // the normal end of a persistent connection: closed without an answer or a warning.
  bool wait_for_next_request() {
    if (settings_.keepalive_timeout.count() == 0) return false;
    Deadline deadline = Deadline::after(settings_.keepalive_timeout);
    for (;;) {
      if (!connection_.wait_readable({}, deadline).connection) return false;
      // "Readable" may be an event loop's memory of data already taken: only bytes count.
      if (std::optional<size_t> n = reader_.fill_now()) return *n > 0;
    }
  }

  // Answers a request; false when the connection must close after it.
  bool answer(const HttpRequest& request, const std::string& line) {
    HttpReply reply = settings_.offload
                          ? offloaded(connection_.io(), [&] { return respond_(request); })
                          : respond_(request);
    bool keep = request.keep_alive() && !reply.response.close && !connection_.io().stopping() &&
                settings_.keepalive_timeout.count() > 0;
    reply.response.close = !keep;
    reply.response.keep_alive_1_0 = keep && request.minor_version == 0;
    send(reply, !request.is_head(), line);
    return keep;
  }

  // A request not served: its status and small page, then the connection closes (after a
  // malformed head nobody can tell where the next request would begin).
  void refuse(int status, const std::string& line) {
    HttpReply reply = error_reply(status);
    reply.response.close = true;
    if (status == 501) reply.response.add("Allow", "GET, HEAD");
    send(reply, !line.starts_with("HEAD "), line);  // a refused HEAD gets no body either
  }

  void send(HttpReply& reply, bool with_body, const std::string& line) {
    std::string head = format_response_head(reply.response, std::time(nullptr));
    const uint64_t head_size = head.size();
    const uint64_t before = connection_.bytes_out();
    auto log_line = [&] {  // the body bytes the kernel took, as the CLF counts them
      uint64_t sent = connection_.bytes_out() - before;
      write_log(line, reply.response.status, sent > head_size ? sent - head_size : 0);
    };
    try {
      if (!with_body || reply.count == 0 || !reply.file) {
        if (with_body) head += reply.body;
        connection_.write_all(head);  // head and body in one write: one packet when small
      } else {
        // Corked: the head waits for the file's first bytes and leaves in the same packet.
        connection_.cork(true);
        connection_.write_all(head);
        connection_.send_file(reply.file.get(), reply.offset, reply.count);
        connection_.cork(false);
      }
    } catch (...) {
      log_line();
      throw;
    }
    log_line();
  }

  void write_log(const std::string& line, int status, uint64_t body_bytes) {
    AccessLog* log = connection_.access_log();
    if (log == nullptr) return;
    log->write(RequestLogEntry{connection_.peer(), line, status, body_bytes});
  }

  Connection& connection_;
  const HttpResponder& respond_;
  const HttpSessionSettings& settings_;
  HeadReader reader_;
};

}  // namespace

void serve_http(Connection& connection, const HttpResponder& respond,
                const HttpSessionSettings& settings) {
  Session(connection, respond, settings).run();
}

}  // namespace sockserv
