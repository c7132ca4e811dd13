// RFC 864's rotating lines.
#include "chargen.hpp"

namespace sockserv {

std::string chargen_line(size_t index) {
  std::string line;
  line.reserve(kChargenLineLength + 2);
  for (size_t i = 0; i < kChargenLineLength; ++i) {
    line += static_cast<char>(' ' + (index + i) % kChargenRing);
  }
  line += "\r\n";  // RFC 864 lines end in CR LF, not a bare LF
  return line;
}

}  // namespace sockserv
