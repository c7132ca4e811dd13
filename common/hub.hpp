// Hub: how the connections of one service talk to each other (the chat room).
//
// A connection joins the hub and becomes a member: it can publish a message to every other
// member, take the messages published to it, rename itself (nicks are unique) and list the
// members. How the messages travel depends on who runs the connections:
//   ThreadHub   (thread, iterative)  one shared roster behind a mutex; an eventfd per member
//   ProcessHub  (fork)               the parent holds the roster and relays over socketpairs
// A member never blocks another: each member's waiting messages are bounded (max_queue);
// past it the hub drops that member and its receive() throws HubOverflow.
#pragma once

#include <poll.h>

#include <cstdint>
#include <deque>
#include <list>
#include <memory>
#include <mutex>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "fd.hpp"
#include "io.hpp"

namespace sockserv {

/// Who a member is, for /who.
struct MemberInfo {
  std::string nick;
  std::string peer;         // numeric address of the client
  std::int64_t joined = 0;  // when it joined, seconds since the Unix epoch
};

/// `seconds` since the epoch as ISO 8601 UTC, "2026-11-22T04:11:11Z" (for /who).
std::string utc_timestamp(std::int64_t seconds);

/// The hub dropped this member: too many messages were waiting for it (a slow reader).
struct HubOverflow : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// One connection's membership. Destroying it leaves the hub.
class HubMember {
 public:
  virtual ~HubMember() = default;
  /// Readable when messages wait: wait on it with Connection::wait_ready, then receive().
  virtual int fd() const = 0;
  /// The messages waiting for this member, oldest first; never waits. Throws HubOverflow.
  virtual std::vector<std::string> receive() = 0;
  /// Sends `text` to every other member. Messages of one member arrive in the order sent.
  virtual void publish(std::string_view text) = 0;
  /// Takes `nick` if no other member has it; false when taken.
  virtual bool rename(const std::string& nick) = 0;
  /// Every member, in the order they joined.
  virtual std::vector<MemberInfo> members() = 0;
  /// Sends `farewell` to the others and leaves the roster in one step, so that nobody who has
  /// read the farewell still finds this member in members(). Nothing else may follow.
  virtual void leave(std::string_view farewell) = 0;
  /// This member's nick (join may have added a suffix to make it unique).
  const std::string& nick() const { return nick_; }

 protected:
  std::string nick_;
};

class Hub {
 public:
  virtual ~Hub() = default;
  /// Adds a member. A taken nick gets a suffix ("-2", "-3"...). More than `max_queue` bytes
  /// waiting for it drop the member. `io` is the connection's: the hub waits only with it.
  virtual std::unique_ptr<HubMember> join(MemberInfo me, size_t max_queue, IoContext& io) = 0;
  /// Before fork(): what the child will need to reach the hub (a process hub's link; nothing
  /// for an in-process hub). After fork(), in the child: take it (enter_child).
  virtual UniqueFd open_link() { return UniqueFd(); }
  virtual void enter_child(UniqueFd link) { (void)link; }
  /// For the server's main loop: descriptors it must poll on the hub's behalf (none here).
  virtual void add_poll_fds(PollSet& fds) { (void)fds; }
  /// The main loop's poll results for the descriptors added by add_poll_fds, in order.
  virtual void on_poll(std::span<const pollfd> fds) { (void)fds; }
};

/// Whether two nicks name the same member: nicks are ASCII and compared without case, so
/// "Ann" cannot pose as "ann". (Unicode look-alikes cannot occur: nicks are ASCII only.)
bool same_nick(std::string_view a, std::string_view b);

/// `base`, or `base-2`, `base-3`... the first that `taken` refuses.
template <typename Taken>
std::string unique_nick(const std::string& base, Taken taken) {
  std::string nick = base;
  for (int i = 2; taken(nick); ++i) nick = base + "-" + std::to_string(i);
  return nick;
}

/// The hub of connections that share one process: threads, or the iterative loop.
class ThreadHub : public Hub {
 public:
  std::unique_ptr<HubMember> join(MemberInfo me, size_t max_queue, IoContext& io) override;

 private:
  friend class ThreadMember;
  struct Slot {
    MemberInfo info;
    size_t max_queue = 0;
    UniqueFd event;  // eventfd: non-zero while the inbox has messages (or the slot is dropped)
    std::deque<std::string> inbox;
    size_t queued = 0;     // bytes in inbox
    bool dropped = false;  // overflowed: out of the roster, waiting for its owner to leave
  };
  bool taken(const std::string& nick, const Slot* except) const;
  void deliver(Slot& slot, std::string_view text);

  std::mutex mutex_;
  std::list<Slot> slots_;  // in join order; a list so a member's slot never moves
};

}  // namespace sockserv
