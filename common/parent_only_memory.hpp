// ParentOnlyMemory: pages that this process writes after each fork() and that its children
// never share: a child finds the same addresses zero-filled (madvise MADV_WIPEONFORK).
//
// fork() copies no memory: parent and child share every page, write-protected, and the first
// write to a shared page copies it (a copy-on-write page fault, about 10 µs on our test VM:
// docs/benchmarks.md). Under --model fork the parent writes its list of children right after
// every fork(), while the new child still maps that page: one copy per connection, of memory
// the child never reads. Pages that are never shared are written in place.
//
// A child must not rely on what it finds here: on a kernel without MADV_WIPEONFORK (before
// Linux 4.14) it finds the parent's data, as with ordinary memory.
#pragma once

#include <cstddef>
#include <string>

namespace sockserv {

class ParentOnlyMemory {
 public:
  /// Maps `bytes` of zero-filled memory; `what` names it in the error if mmap fails.
  ParentOnlyMemory(size_t bytes, const std::string& what);
  ParentOnlyMemory(ParentOnlyMemory&& other) noexcept;
  ParentOnlyMemory& operator=(ParentOnlyMemory other) noexcept;
  ~ParentOnlyMemory();

  void* data() const { return data_; }

 private:
  void* data_;
  size_t bytes_;
};

}  // namespace sockserv
