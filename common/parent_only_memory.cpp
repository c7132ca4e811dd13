// ParentOnlyMemory: an anonymous private mapping marked MADV_WIPEONFORK.
#include "parent_only_memory.hpp"

#include <sys/mman.h>

#include <cerrno>
#include <utility>

#include "error.hpp"

namespace sockserv {

ParentOnlyMemory::ParentOnlyMemory(size_t bytes, const std::string& what) : bytes_(bytes) {
  // A mapping of its own, because MADV_WIPEONFORK works on whole private anonymous mappings
  // (not on the heap, whose pages hold objects the children do need). MAP_NORESERVE: only the
  // pages written take memory.
  data_ = ::mmap(nullptr, bytes_, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (data_ == MAP_FAILED) throw_errno("mmap (" + what + ")");
  // EINVAL: a kernel older than 4.14. The memory still works; children share it copy-on-write.
  if (::madvise(data_, bytes_, MADV_WIPEONFORK) < 0 && errno != EINVAL) {
    int error = errno;
    ::munmap(data_, bytes_);
    throw_errno(error, "madvise MADV_WIPEONFORK (" + what + ")");
  }
}

ParentOnlyMemory::ParentOnlyMemory(ParentOnlyMemory&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), bytes_(other.bytes_) {}

ParentOnlyMemory& ParentOnlyMemory::operator=(ParentOnlyMemory other) noexcept {
  std::swap(data_, other.data_);
  std::swap(bytes_, other.bytes_);
  return *this;
}

ParentOnlyMemory::~ParentOnlyMemory() {
  if (data_ != nullptr) ::munmap(data_, bytes_);
}

}  // namespace sockserv
