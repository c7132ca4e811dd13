// Children: the child processes of a model (fork, prefork), reaped without blocking.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string_view>

#include "../parent_only_memory.hpp"

namespace sockserv {

class Children {
 public:
  /// Room for `capacity` children at a time (--max-children, the prefork scoreboard).
  explicit Children(size_t capacity);

  /// Remembers child `pid`, with a number of the model's own (a request, a worker slot).
  /// Throws std::length_error beyond the capacity: the model must not fork that many.
  void add(pid_t pid, uint64_t tag);
  size_t size() const { return *count_; }
  bool empty() const { return *count_ == 0; }
  /// Reaps every child that has finished and calls `on_exit(pid, tag, status, usage)` for
  /// each of ours (`status` as waitpid(2) gives it, `usage` the child's CPU time and peak RSS).
  using OnExit = std::function<void(pid_t, uint64_t, int, const rusage&)>;
  void reap(const OnExit& on_exit);
  /// Sends `signo` to every child.
  void signal_all(int signo) const;
  /// SIGKILL to every child, logged with `why`.
  void kill_all(std::string_view why) const;

 private:
  struct Child {
    pid_t pid;
    uint64_t tag;
  };

  // The table, count first, in memory the children never share (ParentOnlyMemory): under
  // --model fork the parent adds and removes a child per connection, right after a fork(),
  // and a write to a page it shared with the new child would cost a copy of that page. This
  // object itself is not written after it is made.
  size_t capacity_;
  ParentOnlyMemory memory_;
  size_t* count_;    // in memory_
  Child* children_;  // in memory_, after count_; (pid, tag), in no order
};

}  // namespace sockserv
