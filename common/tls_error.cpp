// The thread's OpenSSL error queue, emptied into one message.
#include "tls_error.hpp"

#include <openssl/err.h>

namespace sockserv {

std::string take_tls_errors() {
  std::string text;
  const char* file = nullptr;
  int line = 0;
  const char* data = nullptr;
  int flags = 0;
  // ERR_get_error_all takes the oldest entry: the first cause comes first in the message.
  while (unsigned long code = ERR_get_error_all(&file, &line, nullptr, &data, &flags)) {
    const char* reason = ERR_reason_error_string(code);
    std::string entry = reason != nullptr ? reason : "error " + std::to_string(code);
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
