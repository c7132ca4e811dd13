// Integration tests: the real programs, started on loopback, checked from outside.
//
// No test may leave a process behind. The test program is a subreaper, so whatever its tests
// started comes back to it when its parent dies (inetd's servers, which call setsid, too);
// after each test case, a process of ours still running is a failure of that test case,
// and is killed.
#define BOOST_TEST_MODULE sockserv integration tests
#define BOOST_TEST_DYN_LINK
#include <signal.h>
#include <sys/prctl.h>

#include <boost/make_shared.hpp>
#include <boost/test/tree/traverse.hpp>
#include <boost/test/tree/visitor.hpp>
#include <boost/test/unit_test.hpp>

#include "harness.hpp"

namespace {

using namespace sockserv::test;
namespace utf = boost::unit_test;

// Run after each test case, while it is still the current one: its failures are its own.
struct NoProcessLeftBehind : utf::test_unit_fixture {
  void setup() override {}
  void teardown() override {
    // A server's children may take a moment to see their parent die (PR_SET_PDEATHSIG): only
    // what still runs after a few seconds is left behind.
    std::vector<pid_t> left;
    eventually([&] { return (left = leftover_processes()).empty(); }, 3000ms);
    if (left.empty()) return;
    BOOST_ERROR("processes left behind by this test: " << describe_processes(left));
    for (pid_t pid : left) kill_tree(pid);
  }
};

struct AddToEveryTestCase : utf::test_tree_visitor {
  void visit(const utf::test_case& test) override {
    utf::test_case& mutable_test = utf::framework::get<utf::test_case>(test.p_id);
    mutable_test.p_fixtures.value.push_back(boost::make_shared<NoProcessLeftBehind>());
  }
};

// Caught, not ignored: a write to a program that has exited (run_program feeding the stdin of
// one that stopped at a usage error) then fails with EPIPE instead of killing the whole test
// program, while every program started from here still gets SIGPIPE's default action (exec
// resets a caught signal, but keeps an ignored one ignored).
void on_sigpipe(int) {}

struct SubreaperAndLeftoverCheck {
  SubreaperAndLeftoverCheck() {
    if (::prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) throw std::runtime_error("PR_SET_CHILD_SUBREAPER");
    struct sigaction action {};
    action.sa_handler = on_sigpipe;
    action.sa_flags = SA_RESTART;
    if (::sigaction(SIGPIPE, &action, nullptr) < 0) throw std::runtime_error("sigaction SIGPIPE");
    AddToEveryTestCase visitor;
    utf::traverse_test_tree(utf::framework::master_test_suite(), visitor);
  }
};

}  // namespace

BOOST_TEST_GLOBAL_FIXTURE(SubreaperAndLeftoverCheck);
