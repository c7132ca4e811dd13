// RFC 868 seconds and the daytime line.
#include "clock_formats.hpp"

namespace sockserv {

uint32_t rfc868_time(std::time_t unix_seconds) {
  return static_cast<uint32_t>(static_cast<int64_t>(unix_seconds) + kSecondsFrom1900To1970);
}

std::time_t unix_from_rfc868(uint32_t value, std::time_t now) {
  constexpr int64_t kEra = int64_t{1} << 32;
  int64_t base = static_cast<int64_t>(value) - kSecondsFrom1900To1970;
  // Pick the 2^32-second era that puts the result nearest to our own clock.
  int64_t eras = (static_cast<int64_t>(now) - base + kEra / 2) / kEra;
  return static_cast<std::time_t>(base + eras * kEra);
}

std::string daytime_text(std::time_t unix_seconds) {
  std::tm utc{};
  gmtime_r(&unix_seconds, &utc);
  char text[64];
  size_t n = std::strftime(text, sizeof text, "%a %b %e %H:%M:%S %Y", &utc);
  return std::string(text, n) + "\r\n";
}

}  // namespace sockserv
