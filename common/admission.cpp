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
  if (std::optional<std::string> reason = policy_.check(request.peer, &request.refusal)) {
    log_debug("refused ", to_string(request.peer));
    // A source at its limit (not one refused by address) means the server is under pressure.
    if (request.refusal == "per-source" || request.refusal == "rate") {
      warn_saturated("refusing clients");
    }
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

void Admission::report_saturation(const std::string& why) {
  std::lock_guard lock(mutex_);
  warn_saturated(why);
}

void Admission::warn_saturated(const std::string& why) {
  Clock::time_point now = Clock::now();
  if (saturation_warned_ && now - last_saturation_warning_ < kSaturationInterval) {
    ++saturation_unreported_;  // one line per interval, never one per client
    return;
  }
  std::string sources;
  for (const auto& [host, count] : policy_.busiest(3))
    sources += (sources.empty() ? "" : ", ") + host + " (" + std::to_string(count) + ")";
  if (sources.empty()) sources = "not counted (--max-per-source 0)";
  std::string more;
  if (saturation_unreported_ > 0)
    more = "; " + std::to_string(saturation_unreported_) + " more times since the last warning";
  log_warning("saturated: ", why, more, "; busiest sources (connections in flight): ", sources);
  saturation_warned_ = true;
  last_saturation_warning_ = now;
  saturation_unreported_ = 0;
}

}  // namespace sockserv
