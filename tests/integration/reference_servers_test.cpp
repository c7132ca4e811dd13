// The reference C servers of scripts/compare-models (build/bench/ref-MODEL, built by `make`):
// each echoes to concurrent clients and stops cleanly on SIGTERM, children and all. A quick
// smoke test; the benchmark itself is `make bench`, never part of `make test`.
#include <signal.h>
#include <unistd.h>

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <future>

#include "harness.hpp"

namespace bdata = boost::unit_test::data;
using namespace sockserv;
using namespace sockserv::test;

namespace {
const auto kReferences = bdata::make({"fork", "thread", "prefork", "prethread", "epoll"});

// scripts/run-tests runs the tests from the repository root, where make puts build/bench.
std::string reference_path(const std::string& model) {
  return (std::filesystem::current_path() / "build/bench" / ("ref-" + model)).string();
}
}  // namespace

BOOST_AUTO_TEST_SUITE(reference_servers)

BOOST_DATA_TEST_CASE(echo_ten_clients_then_stop_on_sigterm, kReferences, model) {
  std::string path = reference_path(model);
  BOOST_REQUIRE_MESSAGE(std::filesystem::exists(path), path << " is missing: run make");
  // Port 0, and four workers where the model has a pool: fewer than the clients, so some wait.
  bool pooled = std::string(model) != "fork" && std::string(model) != "thread";
  ServerProcess server(path,
                       pooled ? std::vector<std::string>{"0", "4"} : std::vector<std::string>{"0"});
  std::vector<std::future<bool>> results;
  for (unsigned i = 0; i < 10; ++i) {
    results.push_back(std::async(std::launch::async, [&server, i] {
      // 256 KiB: more than a loopback socket buffer holds, so writes come back partial.
      std::string data = random_bytes(256 * 1024, i);
      return exchange(server.port(), data) == data;
    }));
  }
  size_t good = 0;
  for (auto& r : results) good += r.get() ? 1 : 0;
  BOOST_TEST(good == 10u);

  // A client still connected at SIGTERM: its child (fork) or thread must not keep the server.
  UniqueFd idle = connect_tcp(server.port());
  std::vector<pid_t> children;
  BOOST_TEST(eventually([&] {
    children = children_of(server.pid());
    return std::string(model) != "fork" || !children.empty();
  }));
  BOOST_TEST(server.stop(SIGTERM, 5000ms) == 0);
  for (pid_t child : children) BOOST_TEST(!process_running(child), "child " << child << " left");
}

BOOST_AUTO_TEST_SUITE_END()
