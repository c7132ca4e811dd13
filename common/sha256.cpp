// SHA-256 through OpenSSL's EVP interface (the low-level SHA256_* calls are deprecated).
#include "sha256.hpp"

#include <unistd.h>

#include <array>
#include <stdexcept>
#include <vector>

#include "error.hpp"

namespace sockserv {

Sha256::Sha256() : context_(EVP_MD_CTX_new(), EVP_MD_CTX_free) {
  if (!context_ || EVP_DigestInit_ex(context_.get(), EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("EVP_DigestInit_ex sha256 failed");
  }
}

void Sha256::update(std::span<const std::byte> data) {
  if (EVP_DigestUpdate(context_.get(), data.data(), data.size()) != 1) {
    throw std::runtime_error("EVP_DigestUpdate failed");
  }
}

std::string Sha256::hex_digest() {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest;
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(context_.get(), digest.data(), &length) != 1) {
    throw std::runtime_error("EVP_DigestFinal_ex failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string text;
  for (unsigned int i = 0; i < length; ++i) {
    text += kHex[digest[i] >> 4];
    text += kHex[digest[i] & 0xf];
  }
  return text;
}

void hash_file(Sha256& hash, int fd, uint64_t offset, uint64_t count) {
  std::vector<std::byte> buffer(1 << 20);
  while (count > 0) {
    size_t want = count < buffer.size() ? static_cast<size_t>(count) : buffer.size();
    ssize_t n = ::pread(fd, buffer.data(), want, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("pread");
    }
    if (n == 0) throw std::runtime_error("file ended early while hashing it");
    hash.update(std::span(buffer).first(static_cast<size_t>(n)));
    offset += static_cast<uint64_t>(n);
    count -= static_cast<uint64_t>(n);
  }
}

std::string sha256_of_file(int fd, uint64_t offset, uint64_t count) {
  Sha256 hash;
  hash_file(hash, fd, offset, count);
  return hash.hex_digest();
}

}  // namespace sockserv
