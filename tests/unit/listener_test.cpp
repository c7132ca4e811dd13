// Listener::give_timeouts_to_connections: the blocking models rely on the kernel copying a
// listening TCP socket's SO_RCVTIMEO/SO_SNDTIMEO into each accepted connection, and on a unix
// listener not claiming it (af_unix copies nothing). open_listener_per_worker: the epoll
// model's loops each get a socket on one port, and the port stays theirs. Checked here
// against the real kernel.
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

int int_option(int fd, int option) {
  int value = 0;
  socklen_t length = sizeof value;
  BOOST_REQUIRE(::getsockopt(fd, SOL_SOCKET, option, &value, &length) == 0);
  return value;
}

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

BOOST_AUTO_TEST_CASE(tcp_workers_get_a_socket_each_on_one_port) {
  std::vector<Listener> listeners =
      open_listener_per_worker(parse_endpoint("127.0.0.1:0"), SocketOptions{}, 3);
  BOOST_REQUIRE(listeners.size() == 3u);
  uint16_t port = listeners[0].local().port();
  BOOST_TEST(port != 0);
  for (size_t i = 0; i < listeners.size(); ++i) {
    BOOST_TEST(listeners[i].local().port() == port);
    BOOST_TEST(listeners[i].worker() == i + 1);
    BOOST_TEST(listeners[i].accepts_for(i + 1));
    BOOST_TEST(!listeners[i].accepts_for(i == 0 ? 2 : 1), "another worker's socket");
    BOOST_TEST(int_option(listeners[i].fd(), SO_REUSEPORT) == 1);
  }
  // Clients land on the sockets of the group: all of them are taken by some worker.
  std::vector<UniqueFd> clients;
  for (int i = 0; i < 12; ++i)
    clients.push_back(connect_to(parse_endpoint("127.0.0.1:" + std::to_string(port))));
  size_t accepted = 0;
  for (const Listener& listener : listeners) {
    set_nonblocking(listener.fd(), true);  // accept4 says EAGAIN once the queue is empty
    for (int fd;
         (fd = ::accept4(listener.fd(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0;) {
      UniqueFd taken(fd);
      ++accepted;
    }
  }
  BOOST_TEST(accepted == 12u);
}

BOOST_AUTO_TEST_CASE(the_workers_port_stays_theirs) {
  std::vector<Listener> listeners =
      open_listener_per_worker(parse_endpoint("127.0.0.1:0"), SocketOptions{}, 2);
  std::string address = "127.0.0.1:" + std::to_string(listeners[0].local().port());
  // A server without SO_REUSEPORT fails, as it would against a single listener...
  BOOST_CHECK_THROW(open_listener(parse_endpoint(address), SocketOptions{}), std::exception);
  // ...and so does another group of workers: its first socket binds without the option.
  BOOST_CHECK_THROW(open_listener_per_worker(parse_endpoint(address), SocketOptions{}, 2),
                    std::exception);
}

BOOST_AUTO_TEST_CASE(one_worker_or_a_unix_socket_gets_one_shared_listener) {
  std::vector<Listener> single =
      open_listener_per_worker(parse_endpoint("127.0.0.1:0"), SocketOptions{}, 1);
  BOOST_REQUIRE(single.size() == 1u);
  BOOST_TEST(single[0].worker() == 0u);
  BOOST_TEST(int_option(single[0].fd(), SO_REUSEPORT) == 0, "no port sharing when not needed");

  std::filesystem::path path = std::filesystem::temp_directory_path() /
                               ("sockserv-listener-workers-" + std::to_string(::getpid()));
  std::vector<Listener> unix_listeners =
      open_listener_per_worker(parse_endpoint("unix:" + path.string()), SocketOptions{}, 4);
  BOOST_REQUIRE(unix_listeners.size() == 1u);
  BOOST_TEST(unix_listeners[0].accepts_for(1));
  BOOST_TEST(unix_listeners[0].accepts_for(4));
}

BOOST_AUTO_TEST_SUITE_END()
