// Admission: one AccessPolicy behind one mutex.
#include "admission.hpp"

#include "log.hpp"

namespace sockserv {

Admission::Admission(AccessSettings settings)
    : open_to_all_(settings.allow.empty() && settings.deny.empty() &&
                   settings.max_per_source == 0 && settings.max_rate == 0),
      counts_(settings.max_per_source > 0 || settings.max_rate > 0),
      policy_(std::move(settings)) {}

bool Admission::admit(Request& request) {
  request.id = ++next_id_;
  if (open_to_all_) return true;
  std::lock_guard lock(mutex_);
  if (policy_.check(request.peer, &request.refusal)) {
    log_debug("refused ", to_string(request.peer));
    return false;
  }
  policy_.opened(request.id, request.peer);
  return true;
}

void Admission::done(uint64_t id) {
  if (open_to_all_) return;
  std::lock_guard lock(mutex_);
  policy_.closed(id);
}

}  // namespace sockserv
