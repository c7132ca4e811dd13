// Counting ping's replies and printing them as iputils ping(8) does.
#include "ping_stats.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace sockserv {
namespace {

constexpr double kNanosPerMilli = 1e6;

std::string printf_string(const char* format, double value) {
  char text[64];
  std::snprintf(text, sizeof text, format, value);
  return text;
}

}  // namespace

void PingTally::sent(uint16_t seq, int64_t now_ns) {
  ++transmitted_;
  requests_[seq] = Request{now_ns, State::waiting};
  waiting_.push_back({seq, now_ns});
}

ReplyKind PingTally::received(uint16_t id, uint16_t seq, int64_t now_ns,
                              std::optional<int64_t> payload_send_ns, int64_t& rtt_ns) {
  // On a raw socket every ICMP echo reply of the host arrives, another ping's too: only our
  // identifier is ours. A datagram socket gets only its own, but the check costs nothing.
  auto request = requests_.find(seq);
  if (id != id_ || request == requests_.end()) return ReplyKind::foreign;
  expire_until(now_ns);
  Request& r = request->second;
  // The timestamp the reply carries back is the RTT's start (ping(8) trusts it too), unless
  // it cannot be ours: before this request was recorded or in the future.
  bool plausible = payload_send_ns && *payload_send_ns >= r.sent_ns && *payload_send_ns <= now_ns;
  rtt_ns = now_ns - (plausible ? *payload_send_ns : r.sent_ns);
  switch (r.state) {
    case State::answered:
      ++duplicates_;
      add_rtt(rtt_ns);
      return ReplyKind::duplicate;
    case State::expired:
      r.state = State::answered;
      ++late_;
      return ReplyKind::late;
    case State::waiting:
      break;
  }
  r.state = State::answered;
  ++received_;
  add_rtt(rtt_ns);
  return ReplyKind::first;
}

bool PingTally::error_for(uint16_t id, uint16_t seq) {
  if (id != id_ || requests_.count(seq) == 0) return false;
  ++errors_;
  return true;
}

bool PingTally::still_waiting(const Sent& sent) const {
  const Request& r = requests_.at(sent.seq);
  // After 65536 requests a sequence number is sent again: the old entry is no longer its.
  return r.sent_ns == sent.sent_ns && r.state == State::waiting;
}

void PingTally::expire_until(int64_t now_ns) {
  while (!waiting_.empty()) {
    const Sent& oldest = waiting_.front();
    if (still_waiting(oldest)) {
      if (now_ns < oldest.sent_ns + timeout_ns_) return;
      requests_.at(oldest.seq).state = State::expired;
    }
    waiting_.pop_front();
  }
}

bool PingTally::none_waiting(int64_t now_ns) {
  expire_until(now_ns);
  return std::none_of(waiting_.begin(), waiting_.end(),
                      [&](const Sent& sent) { return still_waiting(sent); });
}

std::optional<int64_t> PingTally::next_timeout(int64_t now_ns) {
  expire_until(now_ns);  // leaves the oldest request still waiting in front, if any
  if (waiting_.empty()) return std::nullopt;
  return waiting_.front().sent_ns + timeout_ns_;
}

void PingTally::add_rtt(int64_t rtt_ns) {
  double ms = static_cast<double>(rtt_ns) / kNanosPerMilli;
  rtt_min_ms_ = rtt_count_ == 0 ? ms : std::min(rtt_min_ms_, ms);
  rtt_max_ms_ = rtt_count_ == 0 ? ms : std::max(rtt_max_ms_, ms);
  ++rtt_count_;
  rtt_sum_ms_ += ms;
  rtt_sum_squares_ += ms * ms;
}

RttSummary PingTally::rtt() const {
  if (rtt_count_ == 0) return {};
  double n = static_cast<double>(rtt_count_);
  double avg = rtt_sum_ms_ / n;
  // The mean deviation of ping(8): sqrt(E[x^2] - E[x]^2), the standard deviation.
  double variance = std::max(0.0, rtt_sum_squares_ / n - avg * avg);
  return {rtt_min_ms_, avg, rtt_max_ms_, std::sqrt(variance)};
}

std::string format_rtt(int64_t rtt_ns) {
  double ms = static_cast<double>(rtt_ns) / kNanosPerMilli;
  if (ms >= 99.95) return printf_string("%.0f", ms);
  if (ms >= 9.995) return printf_string("%.1f", ms);
  if (ms >= 1) return printf_string("%.2f", ms);
  return printf_string("%.3f", ms);
}

std::string reply_line(size_t bytes, const std::string& from, uint16_t seq, std::optional<int> ttl,
                       std::optional<int64_t> rtt_ns, ReplyKind kind) {
  std::string line =
      std::to_string(bytes) + " bytes from " + from + ": icmp_seq=" + std::to_string(seq);
  if (ttl) line += " ttl=" + std::to_string(*ttl);
  if (rtt_ns) line += " time=" + format_rtt(*rtt_ns) + " ms";
  if (kind == ReplyKind::duplicate) line += " (DUP!)";
  if (kind == ReplyKind::late) line += " (late)";
  return line;
}

std::string error_line(const std::string& from, uint16_t seq, const std::string& what) {
  return "From " + from + " icmp_seq=" + std::to_string(seq) + " " + what;
}

std::string summary_text(const std::string& host, const PingTally& tally, int64_t elapsed_ns) {
  std::string text = "--- " + host + " ping statistics ---\n";
  text += std::to_string(tally.transmitted()) + " packets transmitted, " +
          std::to_string(tally.received()) + " received";
  if (tally.duplicates() != 0) text += ", +" + std::to_string(tally.duplicates()) + " duplicates";
  if (tally.late() != 0) text += ", +" + std::to_string(tally.late()) + " late";
  if (tally.errors() != 0) text += ", +" + std::to_string(tally.errors()) + " errors";
  if (tally.transmitted() != 0) {
    double lost = static_cast<double>(tally.transmitted() - tally.received());
    text += ", " + printf_string("%g", lost * 100 / static_cast<double>(tally.transmitted())) +
            "% packet loss";
    text += ", time " + std::to_string(elapsed_ns / 1'000'000) + "ms";
  }
  text += "\n";
  if (tally.received() + tally.duplicates() != 0) {
    RttSummary rtt = tally.rtt();
    char line[160];
    std::snprintf(line, sizeof line, "rtt min/avg/max/mdev = %.3f/%.3f/%.3f/%.3f ms\n", rtt.min_ms,
                  rtt.avg_ms, rtt.max_ms, rtt.mdev_ms);
    text += line;
  }
  return text;
}

}  // namespace sockserv
