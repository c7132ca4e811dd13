// HelperPool: a few threads that run blocking work (opening and hashing files, listing
// directories, renames, fsync) for event loops, which must never block themselves.
//
// An event loop serves thousands of connections on one thread: one open(2) that waits for a
// slow disk would stall all of them. So a fiber hands such work to this pool and suspends;
// the loop serves the others meanwhile and is woken when the job is done (FiberContext::
// offload). Node's libuv and nginx's thread pools do the same. Threads are joined, never
// detached: the pool outlives the loops that use it.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace sockserv {

class HelperPool {
 public:
  /// Starts `threads` helper threads (at least one).
  explicit HelperPool(size_t threads);
  /// Lets the jobs already submitted finish, then joins the threads.
  ~HelperPool();
  HelperPool(const HelperPool&) = delete;
  HelperPool& operator=(const HelperPool&) = delete;

  /// Queues `job` for the next free helper thread. `job` must not throw.
  void submit(std::function<void()> job);

 private:
  void run();

  std::mutex mutex_;  // guards jobs_ and stopping_
  std::condition_variable ready_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::vector<std::jthread> threads_;  // last: joined before the queue goes away
};

}  // namespace sockserv
