// ThreadHub: the in-process hub. One roster behind a mutex; each member has an inbox and an
// eventfd that its connection waits on next to its socket.
#include "hub.hpp"

#include <sys/eventfd.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <ctime>

#include "error.hpp"

namespace sockserv {

class ThreadMember : public HubMember {
 public:
  ThreadMember(ThreadHub& hub, std::list<ThreadHub::Slot>::iterator slot) : hub_(hub), slot_(slot) {
    nick_ = slot->info.nick;
  }
  ~ThreadMember() override {
    std::lock_guard lock(hub_.mutex_);
    if (!left_) hub_.slots_.erase(slot_);
  }

  void leave(std::string_view farewell) override {
    std::lock_guard lock(hub_.mutex_);
    publish_locked(farewell);
    hub_.slots_.erase(slot_);
    left_ = true;
  }

  int fd() const override { return slot_->event.get(); }

  std::vector<std::string> receive() override {
    std::lock_guard lock(hub_.mutex_);
    if (slot_->inbox.empty() && !slot_->dropped) return {};
    // The counter is non-zero here (deliver signalled it), so this read cannot block; it
    // resets the counter to zero, and the next deliver signals again.
    std::uint64_t count = 0;
    read_some(fd(), std::as_writable_bytes(std::span(&count, 1)), Deadline::never(), client_io());
    if (slot_->dropped) {
      throw HubOverflow("more than " + std::to_string(slot_->max_queue) + " bytes waiting");
    }
    std::vector<std::string> messages(std::make_move_iterator(slot_->inbox.begin()),
                                      std::make_move_iterator(slot_->inbox.end()));
    slot_->inbox.clear();
    slot_->queued = 0;
    return messages;
  }

  void publish(std::string_view text) override {
    std::lock_guard lock(hub_.mutex_);
    publish_locked(text);
  }

  bool rename(const std::string& nick) override {
    std::lock_guard lock(hub_.mutex_);
    if (hub_.taken(nick, &*slot_)) return false;
    slot_->info.nick = nick;
    nick_ = nick;
    return true;
  }

  std::vector<MemberInfo> members() override {
    std::lock_guard lock(hub_.mutex_);
    std::vector<MemberInfo> all;
    for (const ThreadHub::Slot& slot : hub_.slots_) {
      if (!slot.dropped) all.push_back(slot.info);
    }
    return all;
  }

 private:
  // One lock around the whole round: every member sees the messages in one order.
  void publish_locked(std::string_view text) {
    for (ThreadHub::Slot& other : hub_.slots_) {
      if (&other != &*slot_ && !other.dropped) hub_.deliver(other, text);
    }
  }

  ThreadHub& hub_;
  std::list<ThreadHub::Slot>::iterator slot_;
  bool left_ = false;  // leave() has erased the slot already
};

std::string utc_timestamp(std::int64_t seconds) {
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  char text[32];
  return std::string(text,
                     std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", ::gmtime_r(&t, &tm)));
}

std::unique_ptr<HubMember> ThreadHub::join(MemberInfo me, size_t max_queue, IoContext&) {
  // EFD_NONBLOCK: a connection only ever waits for it through its IoContext, never in read().
  UniqueFd event(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!event) throw_errno("eventfd");
  std::lock_guard lock(mutex_);
  me.nick = unique_nick(me.nick, [this](const std::string& nick) { return taken(nick, nullptr); });
  Slot& slot = slots_.emplace_back();
  slot.info = std::move(me);
  slot.max_queue = max_queue;
  slot.event = std::move(event);
  return std::make_unique<ThreadMember>(*this, std::prev(slots_.end()));
}

bool same_nick(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

bool ThreadHub::taken(const std::string& nick, const Slot* except) const {
  for (const Slot& slot : slots_) {
    if (&slot != except && !slot.dropped && same_nick(slot.info.nick, nick)) return true;
  }
  return false;
}

void ThreadHub::deliver(Slot& slot, std::string_view text) {
  bool was_idle = slot.inbox.empty();
  if (slot.queued + text.size() > slot.max_queue) {
    // A slow reader: drop it rather than let its backlog grow, and wake it to find out.
    slot.dropped = true;
    slot.inbox.clear();
    slot.queued = 0;
  } else {
    slot.inbox.emplace_back(text);
    slot.queued += text.size();
    if (!was_idle) return;  // already signalled, not yet received
  }
  std::uint64_t one = 1;
  // An eventfd write never blocks (the counter cannot reach its maximum here).
  write_all(slot.event.get(), std::as_bytes(std::span(&one, 1)), Deadline::never(), client_io());
}

}  // namespace sockserv
