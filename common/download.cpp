// Opening a file for a download: may block on the disk, so callers offload it.
#include "download.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include "error.hpp"

namespace sockserv {

Download open_download(const ServedTree& tree, DigestCache& digests, const std::string& name,
                       uint64_t offset, const std::string& peer) {
  // O_NONBLOCK: opening a FIFO must not hang the connection; it is refused just below.
  UniqueFd file = tree.open(name, O_RDONLY | O_NONBLOCK, peer);
  struct stat st {};
  if (::fstat(file.get(), &st) < 0) throw_errno("fstat " + name);
  if (!S_ISREG(st.st_mode)) throw Refusal("not a regular file");
  uint64_t total = static_cast<uint64_t>(st.st_size);
  if (offset > total) throw Refusal("offset beyond end of file");
  std::string sha256 = digests.sha256_of(file.get());
  // Into the page cache now, off the event loop, so that sendfile copies from memory.
  ::readahead(file.get(), static_cast<off_t>(offset), total - offset);
  return {std::move(file), total, std::move(sha256)};
}

}  // namespace sockserv
