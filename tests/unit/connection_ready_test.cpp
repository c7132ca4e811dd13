// Connection::write_some and wait_ready: writing without blocking, waiting for room to write
// next to other descriptors (what the chat handler's bounded outbox relies on).
#include <sys/socket.h>

#include <boost/test/unit_test.hpp>
#include <string>

#include "connection.hpp"
#include "fd.hpp"
#include "io.hpp"

using namespace sockserv;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(connection_ready)

BOOST_AUTO_TEST_CASE(write_some_never_blocks_and_wait_ready_reports_room) {
  int fds[2];
  BOOST_REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
  UniqueFd theirs(fds[1]);
  Connection connection(UniqueFd(fds[0]), SocketAddress{}, client_io(), ConnectionTimeouts{},
                        SocketSetup{});
  std::string chunk(64 * 1024, 'x');
  size_t sent = 0;
  for (int i = 0; i < 10'000; ++i) {
    size_t n = connection.write_some(as_bytes(chunk));
    if (n == 0) break;  // full: a blocking write would hang here
    sent += n;
  }
  BOOST_TEST(sent > 0u);
  Pipe other = make_pipe(true);
  Readiness full = connection.wait_ready({other.read_end.get()}, true, Deadline::after(50ms));
  BOOST_TEST(!full.any());
  write_all(other.write_end.get(), "!", Deadline::never(), client_io());
  Readiness piped = connection.wait_ready({other.read_end.get()}, true, Deadline::after(1000ms));
  BOOST_TEST(!piped.writable);
  BOOST_TEST(piped.others.size() == 1u);
  std::string sink(sent, '\0');
  BOOST_TEST(read_full(theirs.get(), std::as_writable_bytes(std::span(sink)), Deadline::never(),
                       client_io()) == sent);
  Readiness room = connection.wait_ready({}, true, Deadline::after(1000ms));
  BOOST_TEST(room.writable);
  BOOST_TEST(!room.connection);
}

BOOST_AUTO_TEST_SUITE_END()
