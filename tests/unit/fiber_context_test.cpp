// FiberContext without a server: the timer heap wakes fibers in deadline order, a pipe wakes
// the fiber waiting on it, offloaded work returns its result or its exception, and the drain
// ends every wait.
#include "fiber_context.hpp"

#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "drain.hpp"
#include "error.hpp"

using namespace sockserv;
using namespace std::chrono_literals;

namespace {

// Turns the loop until every fiber has ended (at most `turns` times).
void run_to_end(FiberContext& io, int turns = 200) {
  for (int i = 0; i < turns && io.fibers() > 0; ++i) io.run_once(Deadline::after(50ms));
  BOOST_REQUIRE_EQUAL(io.fibers(), 0u);
}

struct Loop {
  DrainDeadline drain;
  HelperPool helpers{2};
  FiberContext io{drain, helpers, 64 * 1024};
};

}  // namespace

BOOST_AUTO_TEST_SUITE(fiber_context)

BOOST_AUTO_TEST_CASE(timers_wake_fibers_in_deadline_order) {
  Loop loop;
  std::vector<Pipe> never;  // nobody writes: only the deadlines end these waits
  std::vector<int> woken;
  for (int ms : {60, 20, 40, 0}) {
    // One pipe each: a descriptor is waited on by one fiber at a time.
    int fd = never.emplace_back(make_pipe(true)).read_end.get();
    loop.io.spawn([&, ms, fd] {
      pollfd entry{fd, POLLIN, 0};
      bool ready = loop.io.wait(std::span(&entry, 1), Deadline::after(Millis(ms)));
      BOOST_TEST(!ready);
      woken.push_back(ms);
    });
  }
  run_to_end(loop.io);
  BOOST_TEST(woken == (std::vector<int>{0, 20, 40, 60}), "order of wake-ups");
}

BOOST_AUTO_TEST_CASE(a_pipe_wakes_its_fiber_and_is_reusable_after) {
  Loop loop;
  Pipe pipe = make_pipe(true);
  int rounds_seen = 0;
  loop.io.spawn([&] {
    for (int round = 0; round < 3; ++round) {
      pollfd entry{pipe.read_end.get(), POLLIN, 0};
      BOOST_TEST(loop.io.wait(std::span(&entry, 1), Deadline::after(5000ms)));
      BOOST_TEST((entry.revents & POLLIN) != 0);
      char byte = 0;
      BOOST_TEST(::read(pipe.read_end.get(), &byte, 1) == 1);
      ++rounds_seen;
    }
  });
  loop.io.spawn([&] {
    for (int round = 0; round < 3; ++round) {
      pollfd none{-1, 0, 0};
      loop.io.wait(std::span(&none, 1), Deadline::after(10ms));  // a sleep, as a fiber
      BOOST_TEST(::write(pipe.write_end.get(), "x", 1) == 1);
    }
  });
  run_to_end(loop.io);
  BOOST_TEST(rounds_seen == 3);
}

BOOST_AUTO_TEST_CASE(offload_returns_results_and_exceptions_while_others_run) {
  Loop loop;
  std::thread::id loop_thread = std::this_thread::get_id();
  std::string result;
  bool threw = false;
  int ticks = 0;
  loop.io.spawn([&] {
    result = offloaded(loop.io, [&] {
      BOOST_TEST((std::this_thread::get_id() != loop_thread), "ran on a helper thread");
      std::this_thread::sleep_for(50ms);  // blocking, yet the other fiber goes on ticking
      return std::string("digest");
    });
    try {
      loop.io.offload([] { throw std::runtime_error("disk on fire"); });
    } catch (const std::runtime_error& e) {
      threw = std::string(e.what()) == "disk on fire";
    }
  });
  loop.io.spawn([&] {
    pollfd none{-1, 0, 0};
    for (int i = 0; i < 3; ++i, ++ticks) loop.io.wait(std::span(&none, 1), Deadline::after(5ms));
  });
  run_to_end(loop.io);
  BOOST_TEST(result == "digest");
  BOOST_TEST(threw);
  BOOST_TEST(ticks == 3);
}

BOOST_AUTO_TEST_CASE(the_drain_deadline_ends_every_wait) {
  Loop loop;
  std::vector<Pipe> never;
  int drained = 0;
  for (int i = 0; i < 3; ++i) {
    int fd = never.emplace_back(make_pipe(true)).read_end.get();
    loop.io.spawn([&, fd] {
      pollfd entry{fd, POLLIN, 0};
      try {
        loop.io.wait(std::span(&entry, 1), Deadline::never());
      } catch (const DrainDeadlinePassed&) {
        ++drained;
      }
    });
  }
  loop.io.run_once(Deadline::after(10ms));  // every fiber is waiting now
  loop.drain.arm(Millis(20));
  run_to_end(loop.io);
  BOOST_TEST(drained == 3);
  BOOST_TEST(loop.io.drained());
}

BOOST_AUTO_TEST_CASE(a_fiber_waiting_in_a_catch_block_keeps_its_own_exception) {
  Loop loop;
  std::string rethrown;
  int caught_inner = 0;
  pollfd none{-1, 0, 0};
  loop.io.spawn([&] {
    try {
      try {
        throw std::runtime_error("first fiber's");
      } catch (const std::runtime_error&) {
        loop.io.wait(std::span(&none, 1), Deadline::after(10ms));  // the other is in its catch
        throw;  // must rethrow this fiber's exception, not the other's
      }
    } catch (const std::runtime_error& e) {
      rethrown = e.what();
    }
  });
  loop.io.spawn([&] {
    try {
      throw std::logic_error("second fiber's");
    } catch (const std::logic_error&) {
      pollfd idle{-1, 0, 0};
      loop.io.wait(std::span(&idle, 1), Deadline::after(40ms));  // still here when A rethrows
      ++caught_inner;
    }
  });
  run_to_end(loop.io);
  BOOST_TEST(rethrown == "first fiber's");
  BOOST_TEST(caught_inner == 1);
  BOOST_TEST(std::uncaught_exceptions() == 0);
}

BOOST_AUTO_TEST_SUITE_END()
