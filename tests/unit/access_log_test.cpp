// The access log's line format: field order, escaping of client-chosen text, end reasons.
#include "access_log.hpp"

#include <boost/test/unit_test.hpp>

#include "error.hpp"
#include "request_runner.hpp"

using namespace sockserv;

namespace {
AccessLine sample() {
  AccessLine line;
  line.time = "2026-12-01T23:58:36.123Z";
  line.service = "echo-server";
  line.model = "fork";
  line.pid = 4242;
  line.tid = 4243;
  line.local = "127.0.0.1:7";
  line.peer = "127.0.0.1:40312";
  line.transport = "tcp";
  line.duration = 0.000412;
  line.bytes_in = 5;
  line.bytes_out = 6;
  return line;
}

std::string_view reason_of(std::exception_ptr error, std::string& reason) {
  return end_reason_name(RequestRunner::end_reason_of(std::move(error), reason));
}
}  // namespace

BOOST_AUTO_TEST_SUITE(access_log_format)

BOOST_AUTO_TEST_CASE(fields_come_in_the_documented_order) {
  BOOST_TEST(format_access_line(sample()) ==
             "time=2026-12-01T23:58:36.123Z service=echo-server model=fork pid=4242 tid=4243 "
             "local=127.0.0.1:7 peer=127.0.0.1:40312 transport=tcp duration=0.000412 in=5 out=6 "
             "end=closed reason=-\n");
}

BOOST_AUTO_TEST_CASE(a_reason_with_spaces_is_quoted) {
  AccessLine line = sample();
  line.end = EndReason::error;
  line.reason = "protocol error: frame \"too\" long";
  std::string text = format_access_line(line);
  BOOST_TEST(text.ends_with(" end=error reason=\"protocol error: frame \\\"too\\\" long\"\n"),
             text);
}

BOOST_AUTO_TEST_CASE(client_text_cannot_forge_a_line_or_reach_the_terminal) {
  BOOST_TEST(access_log_value("a\nend=closed") == "\"a\\nend=closed\"");
  BOOST_TEST(access_log_value("\x1b[2J\r\t\\") == "\"\\x1b[2J\\r\\t\\\\\"");
  BOOST_TEST(access_log_value("caf\xc3\xa9 \xc2\x9b") == "\"caf\\xc3\\xa9 \\xc2\\x9b\"");
  BOOST_TEST(access_log_value("") == "\"\"");
  BOOST_TEST(access_log_value("unix:/run/echo.sock") == "unix:/run/echo.sock");
  AccessLine line = sample();
  line.peer = "unix:/tmp/evil\n time=forged";
  std::string text = format_access_line(line);
  BOOST_TEST(std::count(text.begin(), text.end(), '\n') == 1);
  BOOST_TEST(text.back() == '\n');
}

BOOST_AUTO_TEST_CASE(a_long_reason_is_cut_so_the_line_stays_whole) {
  AccessLine line = sample();
  line.end = EndReason::error;
  line.reason = std::string(100'000, '\x01');
  BOOST_TEST(format_access_line(line).size() <= kMaxAccessLine);
}

BOOST_AUTO_TEST_CASE(every_end_reason_has_its_name) {
  BOOST_TEST(end_reason_name(EndReason::closed) == "closed");
  BOOST_TEST(end_reason_name(EndReason::reset) == "reset");
  BOOST_TEST(end_reason_name(EndReason::idle_timeout) == "idle-timeout");
  BOOST_TEST(end_reason_name(EndReason::message_timeout) == "message-timeout");
  BOOST_TEST(end_reason_name(EndReason::refused) == "refused");
  BOOST_TEST(end_reason_name(EndReason::drain) == "drain");
  BOOST_TEST(end_reason_name(EndReason::error) == "error");
}

BOOST_AUTO_TEST_CASE(errors_map_to_end_reasons) {
  std::string reason;
  BOOST_TEST(reason_of(std::make_exception_ptr(TimeoutError("read: timed out")), reason) ==
             "idle-timeout");
  BOOST_TEST(reason_of(std::make_exception_ptr(DrainDeadlinePassed("drain")), reason) ==
             "drain");
  reason.clear();
  BOOST_TEST(reason_of(std::make_exception_ptr(
                           std::system_error(ECONNRESET, std::generic_category(), "read")),
                       reason) == "reset");
  BOOST_TEST(!reason.empty());
  reason.clear();
  BOOST_TEST(reason_of(std::make_exception_ptr(ProtocolError("bad frame")), reason) ==
             "error");
  BOOST_TEST(reason == "protocol error: bad frame");
  reason.clear();
  BOOST_TEST(reason_of(std::make_exception_ptr(std::runtime_error("disk full")), reason) ==
             "error");
  BOOST_TEST(reason == "disk full");
}

BOOST_AUTO_TEST_SUITE_END()
