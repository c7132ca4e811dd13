// Shared memory for the prefork pool: mmap(MAP_SHARED | MAP_ANONYMOUS) before any fork, so
// every worker inherits the same pages.
#include "scoreboard.hpp"

#include <sys/mman.h>

#include <cerrno>
#include <new>

#include "../error.hpp"

namespace sockserv {

Scoreboard::Scoreboard(size_t slots)
    : slots_(slots), bytes_(sizeof(Shared) + slots * sizeof(WorkerSlot)) {
  static_assert(std::atomic<uint64_t>::is_always_lock_free,
                "atomics in shared memory must be lock-free");
  memory_ = ::mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (memory_ == MAP_FAILED) throw_errno("mmap (scoreboard)");
  shared_ = new (memory_) Shared;
  table_ = new (static_cast<char*>(memory_) + sizeof(Shared)) WorkerSlot[slots];
  pthread_mutexattr_t attributes;
  pthread_mutexattr_init(&attributes);
  pthread_mutexattr_setpshared(&attributes, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&attributes, PTHREAD_MUTEX_ROBUST);
  int err = pthread_mutex_init(&shared_->accept_mutex, &attributes);
  pthread_mutexattr_destroy(&attributes);
  if (err != 0) throw_errno(err, "pthread_mutex_init (accept lock)");
}

Scoreboard::~Scoreboard() {
  ::munmap(memory_, bytes_);
}

size_t Scoreboard::free_slot() const {
  for (size_t i = 0; i < slots_; ++i) {
    if (table_[i].pid.load() == 0) return i;
  }
  return slots_;
}

void Scoreboard::lock_accept() {
  int err = pthread_mutex_lock(&shared_->accept_mutex);
  // The previous holder died holding it: the lock guards no data, so it is simply ours now.
  if (err == EOWNERDEAD) err = pthread_mutex_consistent(&shared_->accept_mutex);
  if (err != 0) throw_errno(err, "pthread_mutex_lock (accept lock)");
}

void Scoreboard::unlock_accept() {
  pthread_mutex_unlock(&shared_->accept_mutex);
}

}  // namespace sockserv
