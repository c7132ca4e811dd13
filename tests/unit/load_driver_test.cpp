// load_driver without sockets: errno kinds, the payload, sharing a run among threads.
#include "load_driver.hpp"

#include <boost/test/unit_test.hpp>
#include <cerrno>

using namespace sockserv;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(load_driver)

BOOST_AUTO_TEST_CASE(errno_kinds_split_client_from_server) {
  BOOST_TEST((classify_errno(EADDRNOTAVAIL) == LoadError::eaddrnotavail));
  BOOST_TEST((classify_errno(EMFILE) == LoadError::emfile));
  BOOST_TEST((classify_errno(ENFILE) == LoadError::emfile));
  BOOST_TEST((classify_errno(ENOBUFS) == LoadError::other));
  BOOST_TEST((classify_errno(ECONNREFUSED) == LoadError::refused));
  BOOST_TEST((classify_errno(ECONNRESET) == LoadError::reset));
  BOOST_TEST((classify_errno(EPIPE) == LoadError::reset));
  BOOST_TEST((classify_errno(ETIMEDOUT) == LoadError::timeout));
  BOOST_TEST(!is_server_error(LoadError::other));
  BOOST_TEST(is_server_error(LoadError::refused));
  BOOST_TEST(is_server_error(LoadError::closed));
}

BOOST_AUTO_TEST_CASE(payload_is_fixed_and_not_uniform) {
  std::string a = make_payload(4096);
  BOOST_TEST(a.size() == 4096U);
  BOOST_TEST(a == make_payload(4096));
  BOOST_TEST(make_payload(10) == a.substr(0, 10));
  BOOST_TEST(a.find_first_not_of(a[0]) != std::string::npos);
}

BOOST_AUTO_TEST_CASE(split_shares_connections_idle_and_rate) {
  LoadPlan whole;
  whole.connections = 10;
  whole.idle = 7;
  whole.rate = 1000;
  std::vector<LoadPlan> plans = split_load(whole, 4);
  BOOST_TEST(plans.size() == 4U);
  size_t connections = 0, idle = 0;
  double rate = 0;
  for (const LoadPlan& p : plans) {
    connections += p.connections;
    idle += p.idle;
    rate += p.rate;
    BOOST_TEST((p.connections == 2 || p.connections == 3));
  }
  BOOST_TEST(connections == 10U);
  BOOST_TEST(idle == 7U);
  BOOST_TEST(rate == 1000.0, boost::test_tools::tolerance(1e-9));
  BOOST_TEST((plans[1].start - plans[0].start == 1ms));  // one interval of 1000/s apart
}

BOOST_AUTO_TEST_CASE(split_uses_no_more_threads_than_connections) {
  LoadPlan whole;
  whole.connections = 3;
  BOOST_TEST(split_load(whole, 64).size() == 3U);
  BOOST_TEST(split_load(whole, 1).size() == 1U);
}

// Each thread binds its own ports: the shares must not overlap, and together cover the range.
BOOST_AUTO_TEST_CASE(split_gives_each_thread_its_own_source_ports) {
  LoadPlan whole;
  whole.connections = 8;
  whole.source_ports = {20000, 20009};
  std::vector<LoadPlan> plans = split_load(whole, 3);
  BOOST_REQUIRE(plans.size() == 3U);
  BOOST_TEST(plans[0].source_ports.first == 20000);
  BOOST_TEST(plans[0].source_ports.last == 20002);
  BOOST_TEST(plans[1].source_ports.first == 20003);
  BOOST_TEST(plans[1].source_ports.last == 20005);
  BOOST_TEST(plans[2].source_ports.first == 20006);
  BOOST_TEST(plans[2].source_ports.last == 20009);  // the last share takes the remainder
  whole.source_ports = {};  // none given: the kernel picks, for every thread
  BOOST_TEST(split_load(whole, 2)[1].source_ports.empty());
}

BOOST_AUTO_TEST_SUITE_END()
