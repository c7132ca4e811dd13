// The harness itself: every process a test causes is ended with the test, even one that left
// its parent's process group and session, as inetd's servers do (setsid). Before, two
// chat-servers started by the inetd tests were still listening an hour after `make test`.
#include "harness.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <string>

#include "peers.hpp"

using namespace sockserv;
using namespace sockserv::test;

BOOST_AUTO_TEST_SUITE(harness)

BOOST_AUTO_TEST_CASE(a_spawned_program_ends_with_what_left_its_session) {
  pid_t escaped = 0;
  {
    // Like inetd: a daemon whose child calls setsid, out of reach of a kill of its group.
    Spawned daemon({"sh", "-c", "setsid sleep 300 & echo escaped $!; wait"});
    BOOST_TEST_REQUIRE(daemon.wait_for_log("escaped "), daemon.log());
    std::string log = daemon.log();
    escaped = std::stoi(log.substr(log.find("escaped ") + 8));
    BOOST_TEST_REQUIRE(eventually([&] { return ::getsid(escaped) == escaped; }),
                       "the child did not get a session of its own");
  }
  BOOST_TEST(eventually([&] { return !process_running(escaped); }, 5000ms),
             "left running: " << describe_processes({escaped}));
}

BOOST_AUTO_TEST_CASE(a_server_ends_with_its_children_and_theirs) {
  std::vector<pid_t> tree;
  {
    ServerProcess server("echo-server",
                         {"--listen", "127.0.0.1:0", "--model", "prefork", "--workers", "3"});
    BOOST_TEST_REQUIRE(eventually([&] { return descendants_of(server.pid()).size() >= 3u; }));
    tree = descendants_of(server.pid());
    tree.push_back(server.pid());
  }
  for (pid_t pid : tree) BOOST_TEST(!process_running(pid), describe_processes({pid}));
}

// The check after every test case (main.cpp) finds what a test left behind: an orphan comes
// back to the test program, a subreaper, instead of disappearing under init.
BOOST_AUTO_TEST_CASE(a_process_left_behind_is_found_then_ended) {
  pid_t orphan_parent = ::fork();
  BOOST_TEST_REQUIRE(orphan_parent >= 0);
  if (orphan_parent == 0) {
    // A grandchild in its own session, then the parent exits: the grandchild is an orphan.
    if (::fork() == 0) {
      ::setsid();
      ::execlp("sleep", "sleep", "300", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::_exit(0);
  }
  ::waitpid(orphan_parent, nullptr, 0);
  // (Another process may show up for a moment: a child of an earlier test that is exiting
  // comes back to the subreaper too. The orphan is what must be found.)
  std::vector<pid_t> left;
  BOOST_TEST_REQUIRE(
      eventually([&] {
        left = leftover_processes();
        return describe_processes(left).find("sleep 300") != std::string::npos;
      }),
      "the orphan did not come back to the test program: " << describe_processes(left));
  for (pid_t pid : left) kill_tree(pid);
  BOOST_TEST(eventually([&] { return leftover_processes().empty(); }),
             describe_processes(leftover_processes()));
}

BOOST_AUTO_TEST_SUITE_END()
