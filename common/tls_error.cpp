// The thread's OpenSSL error queue, emptied into one message.
#include "tls_error.hpp"

#include <cstring>

#include "openssl.hpp"

namespace sockserv {
namespace {

// A system error (fopen failed) carries errno as its reason, which OpenSSL 3 does not name.
std::string reason_of(unsigned long code) {
  if (ERR_SYSTEM_ERROR(code)) return std::strerror(ERR_GET_REASON(code));
  const char* reason = ossl::ERR_reason_error_string(code);
  return reason != nullptr ? reason : "OpenSSL error " + std::to_string(code);
}

}  // namespace

std::string take_tls_errors() {
  std::string text;
  const char* file = nullptr;
  int line = 0;
  const char* data = nullptr;
  int flags = 0;
  // ERR_get_error_all takes the oldest entry: the first cause comes first in the message.
  while (unsigned long code = ossl::ERR_get_error_all(&file, &line, nullptr, &data, &flags)) {
    // "system lib" only repeats that the system error before it happened.
    if (!ERR_SYSTEM_ERROR(code) && ERR_GET_REASON(code) == ERR_R_SYS_LIB) continue;
    std::string entry = reason_of(code);
    // Extra text some errors carry ("calling fopen(/etc/key.pem, r)", the file's name).
    if ((flags & ERR_TXT_STRING) != 0 && data != nullptr && *data != '\0')
      entry += std::string(" (") + data + ")";
    if (text.find(entry) != std::string::npos) continue;  // the same cause pushed twice
    if (!text.empty()) text += "; ";
    text += entry;
  }
  return text;
}

void throw_tls_error(const std::string& what) {
  std::string errors = take_tls_errors();
  throw TlsError(what + ": " + (errors.empty() ? "unknown OpenSSL error" : errors));
}

}  // namespace sockserv
