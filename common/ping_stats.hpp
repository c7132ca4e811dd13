// What ping counts and prints: which request a reply answers (matched by identifier and
// sequence number), whether it is the first answer, a duplicate or late, the round-trip
// times, and the lines ping(8) users know:
//
//   64 bytes from 127.0.0.1: icmp_seq=1 ttl=64 time=0.045 ms
//   --- 127.0.0.1 ping statistics ---
//   3 packets transmitted, 3 received, 0% packet loss, time 2003ms
//   rtt min/avg/max/mdev = 0.031/0.040/0.049/0.007 ms
//
// No sockets and no clock here: times are nanoseconds handed in by the caller, so every
// rule is tested on its own (tests/unit/ping_stats_test.cpp).
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>

namespace sockserv {

/// What a received echo reply turned out to be.
enum class ReplyKind {
  first,      // the first answer to a request of ours, within its timeout
  duplicate,  // another answer to a request already answered (ping(8): "(DUP!)")
  late,       // the first answer, but after the request's timeout: its packet counts as lost
  foreign,    // not ours: another identifier (another ping's), or a sequence never sent
};

/// The round-trip times of counted replies: min, average, max and mean deviation, in ms.
struct RttSummary {
  double min_ms = 0, avg_ms = 0, max_ms = 0, mdev_ms = 0;
};

class PingTally {
 public:
  /// `id`: the identifier our requests carry; `timeout_ns`: how long each waits for a reply.
  PingTally(uint16_t id, int64_t timeout_ns) : id_(id), timeout_ns_(timeout_ns) {}

  /// Records that request `seq` left at `now_ns`; a sequence number sent again after 65536
  /// requests replaces the old one.
  void sent(uint16_t seq, int64_t now_ns);
  /// Classifies and counts a reply carrying `id` and `seq`, arriving at `now_ns`. `rtt_ns`
  /// is set for every kind but foreign: from `payload_send_ns` (the timestamp the reply
  /// carried back) when it is plausible, else from the time the request was recorded.
  ReplyKind received(uint16_t id, uint16_t seq, int64_t now_ns,
                     std::optional<int64_t> payload_send_ns, int64_t& rtt_ns);
  /// Counts a request that could not be sent.
  void error() { ++errors_; }
  /// Counts an ICMP error (unreachable, time exceeded) about request `seq` if it is ours:
  /// our identifier and a sequence we sent. Returns whether it was.
  bool error_for(uint16_t id, uint16_t seq);

  /// True when no request still waits for its reply at `now_ns` (each is answered or past
  /// its timeout): after the last request, ping may stop.
  bool none_waiting(int64_t now_ns);
  /// When the oldest waiting request times out, if any waits.
  std::optional<int64_t> next_timeout(int64_t now_ns);

  uint64_t transmitted() const { return transmitted_; }
  uint64_t received() const { return received_; }
  uint64_t duplicates() const { return duplicates_; }
  uint64_t late() const { return late_; }
  uint64_t errors() const { return errors_; }
  /// Over first answers and duplicates, as ping(8) does; all zero when there were none.
  RttSummary rtt() const;

 private:
  enum class State { waiting, answered, expired };
  struct Request {
    int64_t sent_ns;
    State state;
  };
  void expire_until(int64_t now_ns);
  void add_rtt(int64_t rtt_ns);

  uint16_t id_;
  int64_t timeout_ns_;
  std::unordered_map<uint16_t, Request> requests_;
  struct Sent {
    uint16_t seq;
    int64_t sent_ns;
  };
  bool still_waiting(const Sent& sent) const;

  std::deque<Sent> waiting_;  // in the order sent, which is also the order they time out
  uint64_t transmitted_ = 0, received_ = 0, duplicates_ = 0, late_ = 0, errors_ = 0;
  uint64_t rtt_count_ = 0;
  double rtt_sum_ms_ = 0, rtt_sum_squares_ = 0, rtt_min_ms_ = 0, rtt_max_ms_ = 0;
};

/// A round-trip time as ping(8) prints it: three significant decimals below 10 ms
/// ("0.045"), then fewer ("12.3", "105").
std::string format_rtt(int64_t rtt_ns);

/// One reply line: "64 bytes from 127.0.0.1: icmp_seq=1 ttl=64 time=0.045 ms", with
/// " (DUP!)" or " (late)" after it. `ttl` and `rtt_ns` are left out when unknown.
std::string reply_line(size_t bytes, const std::string& from, uint16_t seq, std::optional<int> ttl,
                       std::optional<int64_t> rtt_ns, ReplyKind kind);

/// The line for an ICMP error about request `seq`, reported by `from`:
/// "From 10.0.0.1 icmp_seq=1 Time to live exceeded".
std::string error_line(const std::string& from, uint16_t seq, const std::string& what);

/// The summary ping(8) prints at the end (two or three lines, each ending in '\n').
std::string summary_text(const std::string& host, const PingTally& tally, int64_t elapsed_ns);

}  // namespace sockserv
