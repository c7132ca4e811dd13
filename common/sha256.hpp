// Sha256: an incremental SHA-256 (OpenSSL EVP), for checking files sent over the network.
#pragma once

#include <openssl/evp.h>

#include <cstddef>
#include <memory>
#include <span>
#include <string>

namespace sockserv {

class Sha256 {
 public:
  Sha256();
  /// Adds bytes to the digest.
  void update(std::span<const std::byte> data);
  /// The digest of everything added, as 64 lowercase hex digits. Ends this object's use.
  std::string hex_digest();

 private:
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> context_;
};

/// Adds the `count` bytes of `fd` from `offset` to `hash` (pread: the offset of `fd` is
/// untouched). Throws std::system_error, or runtime_error when the file is shorter.
void hash_file(Sha256& hash, int fd, uint64_t offset, uint64_t count);

/// Digest of the `count` bytes of `fd` from `offset` (read with pread, the offset of `fd` is
/// untouched). Throws std::system_error, or runtime_error when the file is shorter.
std::string sha256_of_file(int fd, uint64_t offset, uint64_t count);

}  // namespace sockserv
