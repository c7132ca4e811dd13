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

 private:
  bool open_to_all_;
  bool counts_;
  std::atomic<uint64_t> next_id_{0};
  std::mutex mutex_;  // guards policy_
  AccessPolicy policy_;
};

}  // namespace sockserv
