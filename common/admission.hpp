// Admission: the access rules (access.hpp) applied to every new request, whoever accepts it.
//
// Under iterative, fork and thread models only the main thread accepts; under prethread and
// epoll several threads do, so the counts behind --max-per-source and --max-rate sit behind
// one mutex and hold across all of them. (Under prefork, whose workers are processes, the
// parent accepts and passes descriptors when such limits are set: see models/prefork.hpp.)
// A server without limits or address rules takes no lock at all.
#pragma once

#include <atomic>
#include <mutex>

#include "access.hpp"
#include "request.hpp"

namespace sockserv {

class Admission {
 public:
  explicit Admission(AccessSettings settings);

  /// True when no rule can refuse anyone: admission is then free.
  bool open_to_all() const { return open_to_all_; }
  /// True when a rule counts requests (--max-per-source, --max-rate).
  bool counts() const { return counts_; }
  /// Numbers `request` and decides about its peer: false refuses it (logged, throttled).
  bool admit(Request& request);
  /// The request numbered `id` has ended.
  void done(uint64_t id);
  /// The server is saturated (`why`: a refusal, every worker busy): logs a warning naming
  /// the busiest sources, at most once per kSaturationInterval however often it is called.
  void report_saturation(const std::string& why);

  static constexpr Millis kSaturationInterval{10'000};

 private:
  void warn_saturated(const std::string& why);  // mutex_ held

  bool open_to_all_;
  bool counts_;
  std::atomic<uint64_t> next_id_{0};
  std::mutex mutex_;  // guards policy_ and the saturation marks
  AccessPolicy policy_;
  Clock::time_point last_saturation_warning_{};
  bool saturation_warned_ = false;
  size_t saturation_unreported_ = 0;  // occasions since the last warning
};

}  // namespace sockserv
