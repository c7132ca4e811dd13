// The character generator pattern of RFC 864, shared by chargen-server and the tests.
//
// The 95 printable ASCII characters (' ' to '~') in a ring; line n is the 72 characters
// starting at position n of the ring, followed by CR LF.
#pragma once

#include <string>

namespace sockserv {

inline constexpr size_t kChargenLineLength = 72;
inline constexpr size_t kChargenRing = 95;

/// Line `index` of the pattern, 74 bytes including "\r\n".
std::string chargen_line(size_t index);

}  // namespace sockserv
