// Fiber: a stackful coroutine (Boost.Context) that an event loop runs until it waits, and
// StackPool, the cheap stacks it runs on.
//
// A handler written in blocking style needs a whole call stack of its own to pause in the
// middle of a read and come back later: that is what a fiber is (gevent's greenlets, Go's
// goroutines). Only the loop thread resumes a fiber, and a fiber suspends only back to its
// loop, so there are no locks here. Stacks are mmap'd: the kernel gives a page of memory only
// when it is first touched, so a 256 KiB stack of an idle connection costs a few KiB of RSS.
#pragma once

#include <boost/context/fiber.hpp>
#include <boost/context/stack_context.hpp>
#include <cstddef>
#include <functional>
#include <vector>

namespace sockserv {

/// mmap'd stacks with a guard page below each, recycled through a small free list so that a
/// connection does not cost an mmap+mprotect+munmap. One pool per loop thread: not shared.
class StackPool {
 public:
  /// Stacks of `size` usable bytes (rounded up to pages); at most `keep` kept for reuse.
  StackPool(size_t size, size_t keep);
  ~StackPool();
  StackPool(const StackPool&) = delete;
  StackPool& operator=(const StackPool&) = delete;

  /// A stack, from the free list or a new mapping. Throws std::bad_alloc.
  boost::context::stack_context allocate();
  /// Takes a stack back: onto the free list, or unmapped when the list is full.
  void deallocate(boost::context::stack_context& stack);

 private:
  size_t size_;  // usable bytes; the mapping is one guard page more
  size_t keep_;
  std::vector<void*> free_;  // lowest addresses (the guard pages) of the kept mappings
};

/// Holds the saved C++ exception state (std::uncaught_exceptions, the exceptions being
/// caught) of one fiber; see fiber.cpp for why a fiber needs its own.
struct ExceptionState {
  void* caught = nullptr;
  unsigned int uncaught = 0;
};

/// A coroutine with its own stack. Started by the first resume(); ends when `body` returns.
class Fiber {
 public:
  Fiber(StackPool& stacks, std::function<void()> body);
  Fiber(const Fiber&) = delete;
  Fiber& operator=(const Fiber&) = delete;

  /// From the loop: runs the fiber until it suspends or ends. Returns false once it ended.
  /// Never destroy a Fiber that has started and not ended: that would unwind its stack.
  bool resume();
  /// From inside the fiber: back to the loop, until the loop resumes this fiber.
  void suspend();
  bool finished() const { return !context_; }

 private:
  boost::context::fiber run(boost::context::fiber&& loop);

  std::function<void()> body_;
  boost::context::stack_context stack_{};  // this fiber's stack (set before context_ starts)
  boost::context::fiber context_;          // where resume() continues this fiber
  boost::context::fiber loop_;             // where suspend() continues the loop
  ExceptionState exceptions_;
  // AddressSanitizer must be told of every switch of stacks (see fiber.cpp).
  const void* loop_stack_bottom_ = nullptr;
  size_t loop_stack_size_ = 0;
};

}  // namespace sockserv
