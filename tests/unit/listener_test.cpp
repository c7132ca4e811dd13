// Listener::give_timeouts_to_connections: the blocking models rely on the kernel copying a
// listening TCP socket's SO_RCVTIMEO/SO_SNDTIMEO into each accepted connection, and on a unix
// listener not claiming it (af_unix copies nothing). Checked here against the real kernel.
#include <sys/socket.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>

#include "address.hpp"
#include "fd.hpp"
#include "socket.hpp"

using namespace sockserv;
using namespace std::chrono_literals;

namespace {

Millis socket_timeout(int fd, int option) {
  timeval value{};
  socklen_t length = sizeof value;
  BOOST_REQUIRE(::getsockopt(fd, SOL_SOCKET, option, &value, &length) == 0);
  return Millis(value.tv_sec * 1000 + value.tv_usec / 1000);
}

UniqueFd accept_one(const Listener& listener) {
  UniqueFd accepted(::accept4(listener.fd(), nullptr, nullptr, SOCK_CLOEXEC));
  BOOST_REQUIRE(accepted);
  return accepted;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(listener)

BOOST_AUTO_TEST_CASE(a_tcp_connection_starts_with_its_listeners_timeouts) {
  Listener listener = open_listener(parse_endpoint("127.0.0.1:0"), SocketOptions{});
  BOOST_TEST(!listener.connection_timeouts().has_value(), "nothing set yet");
  listener.give_timeouts_to_connections(1500ms);
  BOOST_TEST((listener.connection_timeouts() == 1500ms));

  UniqueFd client = connect_to(parse_endpoint(to_string(listener.local())));
  UniqueFd accepted = accept_one(listener);
  BOOST_TEST(socket_timeout(accepted.get(), SO_RCVTIMEO).count() == 1500);
  BOOST_TEST(socket_timeout(accepted.get(), SO_SNDTIMEO).count() == 1500);
}

BOOST_AUTO_TEST_CASE(a_unix_listener_claims_no_timeouts_for_its_connections) {
  std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("sockserv-listener-" + std::to_string(::getpid()));
  Listener listener = open_listener(parse_endpoint("unix:" + path.string()), SocketOptions{});
  listener.give_timeouts_to_connections(1500ms);
  BOOST_TEST(!listener.connection_timeouts().has_value());

  // Why: a unix stream connection starts with no timeouts, whatever its listener has.
  timeval value{1, 500'000};
  BOOST_REQUIRE(::setsockopt(listener.fd(), SOL_SOCKET, SO_RCVTIMEO, &value, sizeof value) == 0);
  UniqueFd client = connect_to(parse_endpoint("unix:" + path.string()));
  UniqueFd accepted = accept_one(listener);
  BOOST_TEST(socket_timeout(accepted.get(), SO_RCVTIMEO).count() == 0);
}

BOOST_AUTO_TEST_SUITE_END()
