// Scoreboard: what the prefork parent knows of its workers without asking them, in memory
// shared by the parent and every worker process (Apache's prefork MPM keeps the same). A
// worker writes its state and counts with plain atomic stores: no system call per request.
// It also holds the process-shared mutex of --accept-lock mutex (UNP serv04).
#pragma once

#include <pthread.h>
#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "../acceptor.hpp"

namespace sockserv {

struct WorkerSlot {
  std::atomic<pid_t> pid{0};      // 0: free
  std::atomic<bool> busy{false};  // serving a connection
  std::atomic<uint64_t> served{0};
  AcceptStats counts;
};

class Scoreboard {
 public:
  explicit Scoreboard(size_t slots);
  ~Scoreboard();
  Scoreboard(const Scoreboard&) = delete;
  Scoreboard& operator=(const Scoreboard&) = delete;

  size_t size() const { return slots_; }
  WorkerSlot& slot(size_t i) { return table_[i]; }
  const WorkerSlot& slot(size_t i) const { return table_[i]; }
  /// A free slot's index, or size() when all are taken.
  size_t free_slot() const;
  /// The accept mutex, shared by every process (robust: a worker killed while holding it
  /// does not leave the others waiting forever).
  void lock_accept();
  void unlock_accept();
  /// The parent is stopping: set before the workers are signalled, so that a worker forked
  /// just before (which may have missed the signal) sees it too.
  void set_stopping() { shared_->stopping = true; }
  bool stopping() const { return shared_->stopping; }

 private:
  struct Shared {
    pthread_mutex_t accept_mutex;
    std::atomic<bool> stopping{false};
  };
  size_t slots_;
  size_t bytes_;
  void* memory_;
  Shared* shared_;
  WorkerSlot* table_;
};

}  // namespace sockserv
