// Base64 by OpenSSL: EVP_EncodeBlock writes 4 characters for every 3 bytes (and a NUL).
#include "base64.hpp"

#include <openssl/evp.h>

namespace sockserv {
namespace {

// 57 bytes of data make exactly 76 characters of base64: one MIME line.
constexpr size_t kBytesPerLine = 57;

}  // namespace

std::string base64(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');  // +1: EVP_EncodeBlock's NUL
  int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(data.data()),
                                static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(written));
  return out;
}

std::string base64_lines(std::string_view data) {
  std::string out;
  out.reserve(data.size() / kBytesPerLine * 78 + 80);
  for (size_t at = 0; at < data.size(); at += kBytesPerLine) {
    out += base64(data.substr(at, kBytesPerLine));
    out += "\r\n";
  }
  return out;
}

}  // namespace sockserv
