// The two clock formats of the classic time services.
#pragma once

#include <cstdint>
#include <ctime>
#include <string>

namespace sockserv {

/// Seconds from 1900-01-01 (RFC 868's epoch) to 1970-01-01 (Unix's).
inline constexpr int64_t kSecondsFrom1900To1970 = 2'208'988'800;

/// RFC 868 time: seconds since 1900 as a 32-bit number (it wraps in 2036, as the RFC's does).
uint32_t rfc868_time(std::time_t unix_seconds);
/// The Unix time an RFC 868 value stands for, taking the value closest to `now` (so a
/// reading taken after the 2036 wrap still converts right).
std::time_t unix_from_rfc868(uint32_t value, std::time_t now);

/// The daytime line (RFC 867 leaves the format open; this is ctime's, as inetd's):
/// "Sun Nov 22 03:22:52 2026\r\n", in UTC.
std::string daytime_text(std::time_t unix_seconds);

}  // namespace sockserv
