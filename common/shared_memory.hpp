// SharedMemory<T>: one T in memory that this process shares with the processes it forks
// afterwards (mmap MAP_SHARED | MAP_ANONYMOUS), unmapped when its owner goes.
//
// Ordinary memory is copied at fork(): a counter a child increments would change only the
// child's copy. Made before any fork, this is how a parent and its children (fork, prefork)
// see one generation number, one set of TLS ticket keys, one count of dropped clients.
// T must be trivially destructible (atomics, arrays): no destructor runs in the children,
// which leave with _exit.
#pragma once
#include <sys/mman.h>

#include <new>
#include <string>
#include <type_traits>
#include <utility>

#include "error.hpp"

namespace sockserv {

template <typename T>
class SharedMemory {
  static_assert(std::is_trivially_destructible_v<T>, "nothing is destroyed in the children");

 public:
  /// Maps the memory and makes a T in it; `what` names it in the error if mmap fails.
  explicit SharedMemory(const std::string& what) {
    void* memory =
        ::mmap(nullptr, sizeof(T), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) throw_errno("mmap (" + what + ")");
    object_ = new (memory) T;
  }
  SharedMemory(SharedMemory&& other) noexcept : object_(std::exchange(other.object_, nullptr)) {}
  SharedMemory& operator=(SharedMemory other) noexcept {
    std::swap(object_, other.object_);
    return *this;
  }
  ~SharedMemory() {
    if (object_ != nullptr) ::munmap(object_, sizeof(T));
  }

  T* operator->() const { return object_; }
  T& operator*() const { return *object_; }

 private:
  T* object_;
};

}  // namespace sockserv
