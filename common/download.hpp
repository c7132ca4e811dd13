// open_download: what file-server must know before it answers a get (the file, its size,
// its sha256), found on a helper thread under the epoll model.
#pragma once

#include <cstdint>
#include <string>

#include "beneath.hpp"
#include "digest_cache.hpp"
#include "fd.hpp"

namespace sockserv {

struct Download {
  UniqueFd file;
  uint64_t total;      // the whole file's size
  std::string sha256;  // of the whole file
};

/// Opens the regular file `name` of `tree` for sending from `offset`, with its sha256 from
/// `digests`, and reads it ahead into the page cache. Throws Refusal ("not found", "not a
/// regular file", "offset beyond end of file"...), std::system_error.
Download open_download(const ServedTree& tree, DigestCache& digests, const std::string& name,
                       uint64_t offset, const std::string& peer);

}  // namespace sockserv
