// Children: the child processes of a model (fork, prefork), reaped without blocking.
#pragma once

#include <sys/types.h>

#include <boost/container/small_vector.hpp>
#include <cstdint>
#include <functional>
#include <string_view>
#include <utility>

namespace sockserv {

class Children {
 public:
  /// Remembers child `pid`, with a number of the model's own (a request, a worker slot).
  void add(pid_t pid, uint64_t tag) { children_.emplace_back(pid, tag); }
  size_t size() const { return children_.size(); }
  bool empty() const { return children_.empty(); }
  /// Reaps every child that has finished and calls `on_exit(pid, tag, status)` for each of
  /// ours (`status` as waitpid(2) gives it).
  void reap(const std::function<void(pid_t, uint64_t, int)>& on_exit);
  /// Sends `signo` to every child.
  void signal_all(int signo) const;
  /// SIGKILL to every child, logged with `why`.
  void kill_all(std::string_view why) const;

 private:
  // (pid, tag), in no order. Flat, and the first 64 inside this object rather than in a
  // buffer of their own: under --model fork the parent adds and removes one per connection,
  // and every page it writes after a fork() costs a copy-on-write fault (about 10 µs here).
  // A map's nodes would write several pages; a vector writes two (its size, its buffer).
  boost::container::small_vector<std::pair<pid_t, uint64_t>, 64> children_;
};

}  // namespace sockserv
