// ping's reply matcher and statistics without sockets or a clock: which reply is ours, a
// duplicate, late or another ping's; the RTT figures; the lines as ping(8) prints them.
#include "ping_stats.hpp"

#include <boost/test/unit_test.hpp>

using namespace sockserv;

namespace {

constexpr int64_t kMs = 1'000'000;        // nanoseconds
constexpr int64_t kTimeout = 1000 * kMs;  // -W 1

ReplyKind reply(PingTally& tally, uint16_t id, uint16_t seq, int64_t now,
                std::optional<int64_t> payload_time = std::nullopt) {
  int64_t rtt = -1;
  return tally.received(id, seq, now, payload_time, rtt);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(ping_stats)

BOOST_AUTO_TEST_CASE(first_reply_then_duplicate) {
  PingTally tally(77, kTimeout);
  tally.sent(1, 0);
  BOOST_TEST((reply(tally, 77, 1, 5 * kMs) == ReplyKind::first));
  BOOST_TEST((reply(tally, 77, 1, 6 * kMs) == ReplyKind::duplicate));
  BOOST_TEST(tally.transmitted() == 1U);
  BOOST_TEST(tally.received() == 1U);
  BOOST_TEST(tally.duplicates() == 1U);
}

// On a raw socket every echo reply of the host arrives: another ping's (another
// identifier) and sequence numbers we never sent must not count.
BOOST_AUTO_TEST_CASE(replies_of_another_ping_are_foreign) {
  PingTally tally(77, kTimeout);
  tally.sent(1, 0);
  BOOST_TEST((reply(tally, 78, 1, kMs) == ReplyKind::foreign));  // another identifier
  BOOST_TEST((reply(tally, 77, 2, kMs) == ReplyKind::foreign));  // never sent
  BOOST_TEST(tally.received() == 0U);
  BOOST_TEST(tally.duplicates() == 0U);
  BOOST_TEST((reply(tally, 77, 1, kMs) == ReplyKind::first));  // ours still counts after them
}

// Two pings whose replies interleave on the same wire, both seeing all of them: each counts
// exactly its own.
BOOST_AUTO_TEST_CASE(two_pings_at_once_each_count_their_own) {
  PingTally a(100, kTimeout), b(200, kTimeout);
  for (uint16_t seq = 1; seq <= 3; ++seq) {
    a.sent(seq, seq * 10 * kMs);
    b.sent(seq, seq * 10 * kMs + kMs);
  }
  for (uint16_t seq = 1; seq <= 3; ++seq) {
    for (uint16_t id : {100, 200}) {
      reply(a, id, seq, 40 * kMs);
      reply(b, id, seq, 40 * kMs);
    }
  }
  for (const PingTally* t : {&a, &b}) {
    BOOST_TEST(t->received() == 3U);
    BOOST_TEST(t->duplicates() == 0U);
  }
}

BOOST_AUTO_TEST_CASE(a_reply_after_its_timeout_is_late_and_its_packet_lost) {
  PingTally tally(1, kTimeout);
  tally.sent(1, 0);
  tally.sent(2, 100 * kMs);
  BOOST_TEST(!tally.none_waiting(500 * kMs));
  BOOST_TEST(tally.next_timeout(500 * kMs).value_or(0) == kTimeout);
  // Request 1 timed out at 1000 ms; request 2 waits until 1100 ms.
  BOOST_TEST(tally.next_timeout(1050 * kMs).value_or(0) == 1100 * kMs);
  BOOST_TEST((reply(tally, 1, 1, 1050 * kMs) == ReplyKind::late));
  BOOST_TEST((reply(tally, 1, 2, 1050 * kMs) == ReplyKind::first));
  BOOST_TEST((reply(tally, 1, 1, 1060 * kMs) == ReplyKind::duplicate));  // late, then again
  BOOST_TEST(tally.received() == 1U);
  BOOST_TEST(tally.late() == 1U);
  BOOST_TEST(tally.none_waiting(1060 * kMs));
  BOOST_TEST(!tally.next_timeout(1060 * kMs).has_value());
}

BOOST_AUTO_TEST_CASE(none_waiting_once_each_is_answered_or_expired) {
  PingTally tally(1, kTimeout);
  BOOST_TEST(tally.none_waiting(0));
  tally.sent(1, 0);
  tally.sent(2, 0);
  reply(tally, 1, 2, kMs);  // the second answered first: the first still waits
  BOOST_TEST(!tally.none_waiting(2 * kMs));
  BOOST_TEST(tally.none_waiting(kTimeout));  // the first's time is up
}

// After 65536 requests the 16-bit sequence numbers come round again (a fast ping with a
// long -W): the new request takes the number over, and the old one's place in the queue of
// waiting requests must not stand for it, nor hold up the timeouts of those behind it.
BOOST_AUTO_TEST_CASE(sequence_numbers_wrap_after_65536_requests) {
  constexpr int64_t kLong = 100'000 * kMs;  // -W 100
  PingTally tally(1, kLong);
  for (uint32_t n = 1; n <= 65536; ++n) {
    tally.sent(static_cast<uint16_t>(n & 0xffff), n * kMs);
    if (n > 2) reply(tally, 1, static_cast<uint16_t>(n & 0xffff), n * kMs);
  }
  // Requests 1 and 2 still wait (sent at 1 and 2 ms); number 1 is sent again.
  int64_t resent = 65537 * kMs;
  tally.sent(1, resent);
  BOOST_TEST(tally.next_timeout(resent).value_or(0) == 2 * kMs + kLong);  // request 2's
  // Request 2's time is up, the new request 1's is not: 2's reply is late.
  BOOST_TEST((reply(tally, 1, 2, 2 * kMs + kLong + kMs) == ReplyKind::late));
  BOOST_TEST(tally.next_timeout(2 * kMs + kLong + kMs).value_or(0) == resent + kLong);
  BOOST_TEST((reply(tally, 1, 1, resent + kMs) == ReplyKind::first));
  BOOST_TEST(tally.none_waiting(resent + kMs));
  BOOST_TEST(tally.transmitted() == 65537U);
  BOOST_TEST(tally.received() == 65535U);  // 3..65536, then the new 1
}

BOOST_AUTO_TEST_CASE(rtt_comes_from_the_payload_timestamp_when_plausible) {
  PingTally tally(1, kTimeout);
  tally.sent(1, 10 * kMs);
  tally.sent(2, 20 * kMs);
  tally.sent(3, 30 * kMs);
  int64_t rtt = 0;
  tally.received(1, 1, 50 * kMs, 12 * kMs, rtt);
  BOOST_TEST(rtt == 38 * kMs);  // from the timestamp carried back
  tally.received(1, 2, 50 * kMs, 5 * kMs, rtt);
  BOOST_TEST(rtt == 30 * kMs);  // a timestamp before the request was sent: not ours
  tally.received(1, 3, 50 * kMs, 60 * kMs, rtt);
  BOOST_TEST(rtt == 20 * kMs);  // a timestamp in the future: not ours either
}

BOOST_AUTO_TEST_CASE(rtt_min_avg_max_mdev_over_replies_and_duplicates) {
  PingTally tally(1, kTimeout);
  BOOST_TEST(tally.rtt().avg_ms == 0.0);
  tally.sent(1, 0);
  tally.sent(2, 0);
  reply(tally, 1, 1, 1 * kMs);
  reply(tally, 1, 2, 2 * kMs);
  reply(tally, 1, 2, 3 * kMs);  // a duplicate counts in the RTT figures, as in ping(8)
  RttSummary rtt = tally.rtt();
  BOOST_TEST(rtt.min_ms == 1.0, boost::test_tools::tolerance(1e-9));
  BOOST_TEST(rtt.avg_ms == 2.0, boost::test_tools::tolerance(1e-9));
  BOOST_TEST(rtt.max_ms == 3.0, boost::test_tools::tolerance(1e-9));
  BOOST_TEST(rtt.mdev_ms == 0.816497, boost::test_tools::tolerance(1e-5));  // sqrt(2/3)
}

BOOST_AUTO_TEST_CASE(rtt_printed_with_three_significant_decimals) {
  BOOST_TEST(format_rtt(45'000) == "0.045");
  BOOST_TEST(format_rtt(1'234'567) == "1.23");
  BOOST_TEST(format_rtt(12'345'678) == "12.3");
  BOOST_TEST(format_rtt(123'456'789) == "123");
}

BOOST_AUTO_TEST_CASE(reply_lines_as_ping8_prints_them) {
  BOOST_TEST(reply_line(64, "127.0.0.1", 1, 64, 45'000, ReplyKind::first) ==
             "64 bytes from 127.0.0.1: icmp_seq=1 ttl=64 time=0.045 ms");
  BOOST_TEST(reply_line(64, "::1", 2, 64, 45'000, ReplyKind::duplicate) ==
             "64 bytes from ::1: icmp_seq=2 ttl=64 time=0.045 ms (DUP!)");
  BOOST_TEST(reply_line(16, "10.0.0.1", 3, std::nullopt, std::nullopt, ReplyKind::late) ==
             "16 bytes from 10.0.0.1: icmp_seq=3 (late)");
}

BOOST_AUTO_TEST_CASE(errors_count_only_about_our_requests) {
  PingTally tally(5, kTimeout);
  tally.sent(1, 0);
  BOOST_TEST(!tally.error_for(6, 1));  // another ping's request
  BOOST_TEST(!tally.error_for(5, 2));  // never sent
  BOOST_TEST(tally.error_for(5, 1));
  BOOST_TEST(tally.errors() == 1U);
  BOOST_TEST(!tally.none_waiting(kMs));  // an error does not answer the request
  BOOST_TEST(error_line("10.0.0.1", 1, "Time to live exceeded") ==
             "From 10.0.0.1 icmp_seq=1 Time to live exceeded");
}

BOOST_AUTO_TEST_CASE(summary_as_ping8_prints_it) {
  PingTally tally(1, kTimeout);
  for (uint16_t seq = 1; seq <= 3; ++seq) tally.sent(seq, 0);
  reply(tally, 1, 1, 1 * kMs);
  reply(tally, 1, 2, 2 * kMs);
  reply(tally, 1, 2, 3 * kMs);
  BOOST_TEST(summary_text("localhost", tally, 2003 * kMs + 999) ==
             "--- localhost ping statistics ---\n"
             "3 packets transmitted, 2 received, +1 duplicates, 33.3333% packet loss, "
             "time 2003ms\n"
             "rtt min/avg/max/mdev = 1.000/2.000/3.000/0.816 ms\n");
}

BOOST_AUTO_TEST_CASE(summary_without_replies_has_no_rtt_line) {
  PingTally tally(1, kTimeout);
  tally.sent(1, 0);
  tally.sent(2, 0);
  reply(tally, 1, 2, 2 * kTimeout);  // late
  tally.error();
  BOOST_TEST(summary_text("h", tally, 1500 * kMs) ==
             "--- h ping statistics ---\n"
             "2 packets transmitted, 0 received, +1 late, +1 errors, 100% packet loss, "
             "time 1500ms\n");
}

BOOST_AUTO_TEST_SUITE_END()
