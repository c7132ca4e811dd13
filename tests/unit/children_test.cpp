// Children and ParentOnlyMemory (common/models/children, common/parent_only_memory): the
// parent's list of child processes, kept in pages its children do not share.
#include "models/children.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstring>
#include <map>
#include <stdexcept>
#include <thread>

#include "parent_only_memory.hpp"

namespace {
using namespace sockserv;

// A child that stays until it is signalled (bounded: 30 s at most).
pid_t sleeping_child() {
  pid_t pid = ::fork();
  BOOST_REQUIRE(pid >= 0);
  if (pid == 0) {
    ::alarm(30);
    ::pause();
    ::_exit(0);
  }
  return pid;
}

// Reaps until `children` is empty or 5 s have passed; returns what each child's exit said.
std::map<pid_t, std::pair<uint64_t, int>> reap_all(Children& children) {
  std::map<pid_t, std::pair<uint64_t, int>> seen;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!children.empty() && std::chrono::steady_clock::now() < deadline) {
    children.reap([&](pid_t pid, uint64_t tag, int status, const rusage&) {
      seen[pid] = {tag, status};
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return seen;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(children)

BOOST_AUTO_TEST_CASE(a_forked_child_finds_parent_only_memory_zeroed_and_the_parent_keeps_it) {
  ParentOnlyMemory memory(3 * 4096, "test");
  auto* bytes = static_cast<unsigned char*>(memory.data());
  std::memset(bytes, 0xAB, 3 * 4096);
  int pipe_ends[2];
  BOOST_REQUIRE(::pipe(pipe_ends) == 0);
  pid_t pid = ::fork();
  BOOST_REQUIRE(pid >= 0);
  if (pid == 0) {
    // What the child finds: every byte zero (MADV_WIPEONFORK, Linux 4.14 and later).
    bool all_zero = true;
    for (size_t i = 0; i < 3 * 4096; ++i) all_zero = all_zero && bytes[i] == 0;
    char answer = all_zero ? 'z' : 'x';
    ::_exit(::write(pipe_ends[1], &answer, 1) == 1 ? 0 : 1);
  }
  ::close(pipe_ends[1]);
  char answer = '?';
  BOOST_TEST(::read(pipe_ends[0], &answer, 1) == 1);
  ::close(pipe_ends[0]);
  int status = 0;
  BOOST_TEST(::waitpid(pid, &status, 0) == pid);
  BOOST_TEST(answer == 'z');
  // The parent's copy is untouched, and still writable after the fork.
  BOOST_TEST(bytes[0] == 0xAB);
  BOOST_TEST(bytes[3 * 4096 - 1] == 0xAB);
  bytes[4096] = 1;
  BOOST_TEST(bytes[4096] == 1);
}

BOOST_AUTO_TEST_CASE(children_are_reaped_with_their_tags_and_removed) {
  Children children(4);
  BOOST_TEST(children.empty());
  pid_t first = sleeping_child();
  pid_t second = sleeping_child();
  pid_t third = sleeping_child();
  children.add(first, 10);
  children.add(second, 20);
  children.add(third, 30);
  BOOST_TEST(children.size() == 3u);
  // One ends: only it is reported, with its tag, and the other two stay listed.
  ::kill(second, SIGKILL);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  std::map<pid_t, std::pair<uint64_t, int>> seen;
  while (seen.empty() && std::chrono::steady_clock::now() < deadline) {
    children.reap([&](pid_t pid, uint64_t tag, int status, const rusage&) {
      seen[pid] = {tag, status};
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  BOOST_REQUIRE(seen.size() == 1u);
  BOOST_TEST(seen.begin()->first == second);
  BOOST_TEST(seen.begin()->second.first == 20u);
  BOOST_TEST(WIFSIGNALED(seen.begin()->second.second));
  BOOST_TEST(children.size() == 2u);
  // The rest, by signal_all: both reported with their own tags.
  children.signal_all(SIGTERM);
  seen = reap_all(children);
  BOOST_TEST(children.empty());
  BOOST_REQUIRE(seen.size() == 2u);
  BOOST_TEST(seen[first].first == 10u);
  BOOST_TEST(seen[third].first == 30u);
}

BOOST_AUTO_TEST_CASE(more_children_than_the_capacity_is_an_error_not_an_overrun) {
  Children children(2);
  children.add(1001, 1);
  children.add(1002, 2);
  BOOST_CHECK_THROW(children.add(1003, 3), std::length_error);
  BOOST_TEST(children.size() == 2u);
}

BOOST_AUTO_TEST_SUITE_END()
