// The hubs without a server: ThreadHub directly, ProcessHub with its relay run in a thread
// of this process (the "children" are two more ProcessHub objects holding link ends).
#include "hub.hpp"

#include <poll.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <memory>
#include <thread>

#include "process_hub.hpp"
#include "utf8.hpp"

using namespace sockserv;

namespace {

bool readable(int fd) {
  pollfd entry{fd, POLLIN, 0};
  return ::poll(&entry, 1, 0) == 1;
}

MemberInfo info(const std::string& nick) {
  return {nick, "127.0.0.1:1", 1700000000};
}

// Waits (bounded) for messages to arrive at `member`; gives up after about five seconds.
std::vector<std::string> receive_some(HubMember& member, size_t count) {
  std::vector<std::string> all;
  for (int i = 0; i < 500 && all.size() < count; ++i) {
    pollfd entry{member.fd(), POLLIN, 0};
    ::poll(&entry, 1, 10);
    for (std::string& message : member.receive()) all.push_back(std::move(message));
  }
  return all;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(hub)

BOOST_AUTO_TEST_CASE(thread_hub_relays_to_the_others_in_order) {
  ThreadHub hub;
  auto a = hub.join(info("a"), 1 << 20, client_io());
  auto b = hub.join(info("b"), 1 << 20, client_io());
  auto c = hub.join(info("c"), 1 << 20, client_io());
  BOOST_TEST(!readable(b->fd()));
  BOOST_TEST(b->receive().empty());
  for (int i = 0; i < 100; ++i) a->publish("m" + std::to_string(i));
  BOOST_TEST(readable(b->fd()));
  std::vector<std::string> got = b->receive();
  BOOST_REQUIRE(got.size() == 100u);
  for (int i = 0; i < 100; ++i) BOOST_TEST(got[static_cast<size_t>(i)] == "m" + std::to_string(i));
  BOOST_TEST(!readable(b->fd()));  // taken: the eventfd is back to zero
  BOOST_TEST(c->receive().size() == 100u);
  BOOST_TEST(a->receive().empty());  // never its own messages
}

BOOST_AUTO_TEST_CASE(thread_hub_nicks_are_unique) {
  ThreadHub hub;
  auto a = hub.join(info("x"), 1000, client_io());
  auto b = hub.join(info("x"), 1000, client_io());
  BOOST_TEST(a->nick() == "x");
  BOOST_TEST(b->nick() == "x-2");
  BOOST_TEST(!b->rename("x"));
  BOOST_TEST(b->rename("y"));
  BOOST_TEST(b->nick() == "y");
  BOOST_TEST(a->rename("x"));  // its own nick is not "taken"
}

BOOST_AUTO_TEST_CASE(thread_hub_lists_members_in_join_order_and_forgets_who_left) {
  ThreadHub hub;
  auto a = hub.join(info("a"), 1000, client_io());
  auto b = hub.join(info("b"), 1000, client_io());
  auto c = hub.join(info("c"), 1000, client_io());
  b.reset();
  std::vector<MemberInfo> members = a->members();
  BOOST_REQUIRE(members.size() == 2u);
  BOOST_TEST(members[0].nick == "a");
  BOOST_TEST(members[1].nick == "c");
  BOOST_TEST(members[1].peer == "127.0.0.1:1");
  BOOST_TEST(members[1].joined == 1700000000);
}

BOOST_AUTO_TEST_CASE(thread_hub_drops_a_member_whose_queue_overflows) {
  ThreadHub hub;
  auto a = hub.join(info("a"), 1 << 20, client_io());
  auto slow = hub.join(info("slow"), 100, client_io());
  auto fast = hub.join(info("fast"), 1 << 20, client_io());
  for (int i = 0; i < 20; ++i) a->publish(std::string(10, 'x'));  // 200 bytes > 100
  BOOST_TEST(readable(slow->fd()));
  BOOST_CHECK_THROW(slow->receive(), HubOverflow);
  BOOST_TEST(fast->receive().size() == 20u);
  BOOST_TEST(a->members().size() == 2u);  // the dropped member is out of the roster
  slow->leave("last words");              // yet it can still say goodbye
  BOOST_TEST(fast->receive().size() == 1u);
}

BOOST_AUTO_TEST_CASE(thread_hub_leave_is_one_step) {
  ThreadHub hub;
  auto a = hub.join(info("a"), 1000, client_io());
  auto b = hub.join(info("b"), 1000, client_io());
  b->leave("b left");
  BOOST_TEST(a->receive() == std::vector<std::string>{"b left"});
  BOOST_TEST(a->members().size() == 1u);  // already gone when the farewell is read
  b.reset();
  BOOST_TEST(a->members().size() == 1u);
}

BOOST_AUTO_TEST_CASE(process_hub_relays_between_links) {
  ProcessHub parent;
  ProcessHub child_a, child_b, child_c;
  child_a.enter_child(parent.open_link());
  child_b.enter_child(parent.open_link());
  child_c.enter_child(parent.open_link());
  std::atomic<bool> stop = false;
  std::thread relay([&] {
    // The server's main loop, reduced to the hub's descriptors.
    while (!stop) {
      PollSet fds;
      parent.add_poll_fds(fds);
      if (::poll(fds.data(), fds.size(), 10) > 0) parent.on_poll({fds.data(), fds.size()});
    }
  });
  {
    auto a = child_a.join(info("x"), 1 << 20, client_io());
    auto b = child_b.join(info("x"), 2000, client_io());
    BOOST_TEST(a->nick() == "x");
    BOOST_TEST(b->nick() == "x-2");
    BOOST_TEST(b->rename("b"));
    BOOST_TEST(!a->rename("b"));
    for (int i = 0; i < 10; ++i) a->publish("m" + std::to_string(i));
    std::vector<std::string> got = receive_some(*b, 10);
    BOOST_REQUIRE(got.size() == 10u);
    for (int i = 0; i < 10; ++i) BOOST_TEST(got[static_cast<size_t>(i)] == "m" + std::to_string(i));
    std::vector<MemberInfo> members = b->members();
    BOOST_REQUIRE(members.size() == 2u);
    BOOST_TEST(members[0].nick == "x");
    BOOST_TEST(members[1].nick == "b");
    // b stops reading: past its 2000 bytes of queue the parent drops it and tells it so.
    for (int i = 0; i < 2000; ++i) a->publish(std::string(1000, 'y'));
    bool dropped = false;
    for (int i = 0; i < 500 && !dropped; ++i) {
      try {
        receive_some(*b, 1000);
      } catch (const HubOverflow&) {
        dropped = true;
      }
    }
    BOOST_TEST(dropped);
    BOOST_TEST(a->members().size() == 1u);
    auto c = child_c.join(info("c"), 1 << 20, client_io());
    c->leave("c left");
    BOOST_TEST(receive_some(*a, 1) == std::vector<std::string>{"c left"});
    BOOST_TEST(a->members().size() == 1u);
  }
  stop = true;
  relay.join();
}

// A member that leaves while the parent still has messages queued for it: its farewell and
// its end of file arrive together with the parent's EPIPE on its link. The farewell must
// still reach the others (fork chat: "*** slow left (too slow...)" was lost when the parent
// tried to write first, failed, and stopped reading that link).
BOOST_AUTO_TEST_CASE(process_hub_delivers_the_farewell_of_a_member_it_cannot_write_to) {
  ProcessHub parent;
  ProcessHub child_a;
  auto child_x = std::make_unique<ProcessHub>();  // x's process: it exits, closing its link
  child_a.enter_child(parent.open_link());
  child_x->enter_child(parent.open_link());
  std::atomic<bool> stop = false;
  auto relay_loop = [&] {
    while (!stop) {
      PollSet fds;
      parent.add_poll_fds(fds);
      if (::poll(fds.data(), fds.size(), 10) > 0) parent.on_poll({fds.data(), fds.size()});
    }
  };
  std::thread relay(relay_loop);
  auto a = child_a.join(info("a"), 1 << 20, client_io());
  auto x = child_x->join(info("x"), size_t{1} << 30, client_io());  // never dropped for size
  // x reads nothing: its link fills, and the parent keeps the rest queued for it.
  for (int i = 0; i < 2000; ++i) a->publish(std::string(1000, 'y'));
  BOOST_REQUIRE(a->members().size() == 2u);  // answered after all 2000 were relayed
  stop = true;
  relay.join();
  // x leaves: its farewell goes into the link, its end shuts down (~LinkMember), and its
  // process exits: the link closes, and what the parent had sent it is thrown away.
  x->leave("x left (too slow)");
  x.reset();
  child_x.reset();
  // One turn of the main loop sees both: room to write (EPIPE) and the farewell to read.
  PollSet fds;
  parent.add_poll_fds(fds);
  BOOST_REQUIRE(::poll(fds.data(), fds.size(), 1000) > 0);
  parent.on_poll({fds.data(), fds.size()});
  stop = false;
  std::thread again(relay_loop);
  BOOST_TEST(receive_some(*a, 1) == std::vector<std::string>{"x left (too slow)"});
  BOOST_TEST(a->members().size() == 1u);
  stop = true;
  again.join();
}

BOOST_AUTO_TEST_CASE(utf8_validation) {
  BOOST_TEST(is_valid_utf8("plain ascii"));
  BOOST_TEST(is_valid_utf8("caf\xc3\xa9 \xe4\xbd\xa0\xe5\xa5\xbd \xf0\x9f\x98\x80"));
  BOOST_TEST(!is_valid_utf8("\xff"));
  BOOST_TEST(!is_valid_utf8("\xc3"));              // truncated
  BOOST_TEST(!is_valid_utf8("\xc0\xaf"));          // overlong '/'
  BOOST_TEST(!is_valid_utf8("\xe0\x80\xaf"));      // overlong
  BOOST_TEST(!is_valid_utf8("\xed\xa0\x80"));      // surrogate
  BOOST_TEST(!is_valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  BOOST_TEST(!is_valid_utf8("\x80"));              // lone continuation
}

BOOST_AUTO_TEST_SUITE_END()
