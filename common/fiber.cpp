// Fibers on pooled, guarded, lazily backed stacks.
#include "fiber.hpp"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#endif

#include <cxxabi.h>
#include <sys/mman.h>
#include <unistd.h>

#include <new>

#include "log.hpp"

#ifdef __ARM_EABI_UNWINDER__
#error "ExceptionState mirrors the Itanium ABI's __cxa_eh_globals, which ARM EABI extends"
#endif

namespace sockserv {
namespace {

namespace ctx = boost::context;

size_t page_size() {
  return static_cast<size_t>(::sysconf(_SC_PAGESIZE));
}

// What boost::context::fiber copies into each fiber: a pointer to the loop's pool.
struct PooledStack {
  StackPool* pool;
  ctx::stack_context* given;  // the fiber learns its stack's bounds here
  ctx::stack_context allocate() { return *given = pool->allocate(); }
  void deallocate(ctx::stack_context& stack) { pool->deallocate(stack); }
};

// libstdc++ keeps "the exceptions being handled" (a linked list, for `throw;`) and
// std::uncaught_exceptions() per thread. Fibers share their thread, so a fiber that waits
// inside a catch block (chat writing its last words, a framing error reply) would have another
// fiber's catch pop its exception off the list. Each fiber therefore gets its own copy,
// swapped in and out around every switch: two words, no system call.
// AddressSanitizer keeps the bounds of the stack each thread runs on; a switch to a fiber's
// stack it was not told of looks like a wild stack access (and its no-return handling of a
// throw then reports a false stack-buffer-overflow). Each switch is announced: start before
// it, finish after it. Without AddressSanitizer these are empty and vanish.
#if defined(__SANITIZE_ADDRESS__)
void start_switch(void** fake_stack, const void* bottom, size_t size) {
  __sanitizer_start_switch_fiber(fake_stack, bottom, size);
}
void finish_switch(void* fake_stack, const void** bottom_old, size_t* size_old) {
  __sanitizer_finish_switch_fiber(fake_stack, bottom_old, size_old);
}
#else
void start_switch(void**, const void*, size_t) {}
void finish_switch(void*, const void**, size_t*) {}
#endif

ExceptionState& thread_exception_state() {
  return *reinterpret_cast<ExceptionState*>(abi::__cxa_get_globals());
}

}  // namespace

StackPool::StackPool(size_t size, size_t keep)
    : size_((size + page_size() - 1) / page_size() * page_size()), keep_(keep) {}

StackPool::~StackPool() {
  for (void* mapping : free_) ::munmap(mapping, size_ + page_size());
}

ctx::stack_context StackPool::allocate() {
  void* mapping = nullptr;
  if (!free_.empty()) {
    mapping = free_.back();
    free_.pop_back();
  } else {
    // MAP_NORESERVE: no swap is reserved for pages never touched; MAP_STACK documents the use.
    mapping = ::mmap(nullptr, size_ + page_size(), PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (mapping == MAP_FAILED) throw std::bad_alloc();
    // The lowest page is the guard: a handler that overflows its stack gets SIGSEGV at once
    // instead of silently writing over another fiber's stack.
    if (::mprotect(mapping, page_size(), PROT_NONE) < 0) {
      ::munmap(mapping, size_ + page_size());
      throw std::bad_alloc();
    }
  }
  ctx::stack_context stack;
  stack.size = size_;
  stack.sp = static_cast<char*>(mapping) + page_size() + size_;  // stacks grow down
  return stack;
}

void StackPool::deallocate(ctx::stack_context& stack) {
  void* mapping = static_cast<char*>(stack.sp) - size_ - page_size();
  if (free_.size() < keep_) {
    free_.push_back(mapping);  // its touched pages stay: the next connection reuses them
  } else {
    ::munmap(mapping, size_ + page_size());
  }
}

Fiber::Fiber(StackPool& stacks, std::function<void()> body)
    : body_(std::move(body)),
      context_(std::allocator_arg, PooledStack{&stacks, &stack_},
               [this](ctx::fiber&& loop) { return run(std::move(loop)); }) {}

ctx::fiber Fiber::run(ctx::fiber&& loop) {
  finish_switch(nullptr, &loop_stack_bottom_, &loop_stack_size_);  // arrived from the loop
  loop_ = std::move(loop);
  try {
    body_();
  } catch (const ctx::detail::forced_unwind&) {
    throw;  // Boost.Context unwinding this stack: must reach its entry point
  } catch (const std::exception& e) {
    log_error("fiber: ", e.what());
  } catch (...) {
    log_error("fiber: unknown exception");
  }
  body_ = nullptr;  // what the body captured goes now, on the fiber's stack
  start_switch(nullptr, loop_stack_bottom_, loop_stack_size_);  // null: this stack is done
  return std::move(loop_);
}

bool Fiber::resume() {
  ExceptionState& state = thread_exception_state();
  ExceptionState loop_state = state;
  state = exceptions_;
  void* loop_fake_stack = nullptr;
  start_switch(&loop_fake_stack, static_cast<char*>(stack_.sp) - stack_.size, stack_.size);
  context_ = std::move(context_).resume();
  finish_switch(loop_fake_stack, nullptr, nullptr);
  exceptions_ = state;
  state = loop_state;
  return !finished();
}

void Fiber::suspend() {
  void* fiber_fake_stack = nullptr;
  start_switch(&fiber_fake_stack, loop_stack_bottom_, loop_stack_size_);
  loop_ = std::move(loop_).resume();
  finish_switch(fiber_fake_stack, &loop_stack_bottom_, &loop_stack_size_);
}

}  // namespace sockserv
