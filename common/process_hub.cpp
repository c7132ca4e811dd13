// ProcessHub: the parent relays between forked children over SOCK_SEQPACKET socketpairs.
#include "process_hub.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <sstream>

#include "error.hpp"
#include "escape.hpp"
#include "log.hpp"

namespace sockserv {
namespace {

constexpr size_t kMaxPacket = 256 * 1024;  // larger than any message (--max-line is capped)
constexpr int kPacketsPerWake = 64;        // per link and wakeup: links are served fairly
constexpr Millis kReplyTimeout{30'000};    // the parent answers at once unless it is gone

// Packet I/O on a non-blocking SEQPACKET socket: one call moves a whole packet or nothing,
// so there is no partial transfer to resume, only EINTR to retry.
// Sends one packet; false when the socket buffer is full (EAGAIN).
bool send_packet(int fd, std::string_view packet) {
  for (;;) {
    if (::send(fd, packet.data(), packet.size(), MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) return true;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
    throw_errno("send (hub link)");
  }
}

// Receives one packet into `buffer` (kept by the caller, so it is allocated once): nullopt
// when none is waiting, "" at end of file (packets are never empty: each has a type byte).
std::optional<std::string> receive_packet(int fd, std::vector<char>& buffer) {
  buffer.resize(kMaxPacket);
  for (;;) {
    ssize_t n = ::recv(fd, buffer.data(), buffer.size(), MSG_DONTWAIT);
    if (n >= 0) return std::string(buffer.data(), static_cast<size_t>(n));
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return std::nullopt;
    throw_errno("recv (hub link)");
  }
}

std::vector<std::string> split(std::string_view text, char separator) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in{std::string(text)};
  while (std::getline(in, part, separator)) parts.push_back(part);
  return parts;
}

// The child's side: a member that talks to the parent through its link.
class LinkMember : public HubMember {
 public:
  LinkMember(int link, IoContext& io, std::string nick, bool reusable_link)
      : link_(link), io_(io), reusable_link_(reusable_link) {
    nick_ = std::move(nick);
  }
  ~LinkMember() override {
    if (!reusable_link_) {
      // Leaving (fork): the parent reads end of file and takes this member out of the roster.
      ::shutdown(link_, SHUT_RDWR);
      return;
    }
    // A prefork worker keeps its link for its next member: leave in so many words, and wait
    // for the parent's 'K' so nothing meant for this member reaches the next one.
    try {
      if (!left_) call("Q", 'K');
    } catch (const std::exception& e) {
      log_warning("hub: leaving: ", e.what());
    }
  }

  int fd() const override { return link_; }

  std::vector<std::string> receive() override {
    for (int i = 0; i < kPacketsPerWake && !dropped_; ++i) {
      std::optional<std::string> packet = receive_packet(link_, buffer_);
      if (!packet) break;
      take(*packet);
    }
    if (dropped_) throw HubOverflow(reason_);
    return std::exchange(stash_, {});
  }

  void publish(std::string_view text) override { send('P' + std::string(text)); }
  void leave(std::string_view farewell) override {
    left_ = true;
    if (reusable_link_) {
      call('Q' + std::string(farewell), 'K');
    } else {
      send('Q' + std::string(farewell));
    }
  }

  bool rename(const std::string& nick) override {
    bool ok = call('N' + nick, 'R') == "1";
    if (ok) nick_ = nick;
    return ok;
  }

  std::vector<MemberInfo> members() override {
    std::vector<MemberInfo> all;
    for (const std::string& line : split(call("W", 'L'), '\n')) {
      std::vector<std::string> fields = split(line, '\t');
      if (fields.size() == 3) all.push_back({fields[0], fields[1], std::stoll(fields[2])});
    }
    return all;
  }

  // One request and its answer; messages arriving meanwhile are kept for receive().
  static std::string call(int link, IoContext& io, const std::string& request, char answer,
                          std::vector<std::string>* stash, std::string* dropped) {
    Deadline deadline = Deadline::after(kReplyTimeout);
    send(link, io, request, deadline);
    std::vector<char> buffer;
    for (;;) {
      std::optional<std::string> packet = receive_packet(link, buffer);
      if (!packet) {
        pollfd entry{link, POLLIN, 0};
        if (!io.wait(std::span(&entry, 1), deadline)) throw TimeoutError("hub: no answer");
        continue;
      }
      if (packet->empty()) throw std::runtime_error("hub: the server's main process is gone");
      if ((*packet)[0] == answer) return packet->substr(1);
      if ((*packet)[0] == 'M' && stash != nullptr) stash->push_back(packet->substr(1));
      if ((*packet)[0] == 'D' && dropped != nullptr) *dropped = *packet;
    }
  }

 private:
  static void send(int link, IoContext& io, std::string_view packet, Deadline deadline) {
    while (!send_packet(link, packet)) {
      pollfd entry{link, POLLOUT, 0};
      if (!io.wait(std::span(&entry, 1), deadline)) throw TimeoutError("hub: link full");
    }
  }
  void send(std::string_view packet) { send(link_, io_, packet, Deadline::after(kReplyTimeout)); }
  std::string call(const std::string& request, char answer) {
    std::string dropped;
    std::string reply = call(link_, io_, request, answer, &stash_, &dropped);
    if (!dropped.empty()) take(dropped);
    return reply;
  }
  void take(const std::string& packet) {
    if (packet.empty()) throw std::runtime_error("hub: the server's main process is gone");
    if (packet[0] == 'M') stash_.push_back(packet.substr(1));
    if (packet[0] == 'D') {
      dropped_ = true;
      reason_ = packet.substr(1);
    }
  }

  int link_;
  IoContext& io_;
  bool reusable_link_;
  bool left_ = false;
  std::vector<std::string> stash_;
  std::vector<char> buffer_;
  bool dropped_ = false;
  std::string reason_;  // why the parent dropped this member
};

}  // namespace

UniqueFd ProcessHub::open_link() {
  int ends[2];
  // SEQPACKET: reliable and ordered like a stream, but each send stays one packet.
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, ends) < 0) {
    throw_errno("socketpair (hub link)");
  }
  Child& child = children_[ends[0]];
  child.link = UniqueFd(ends[0]);
  return UniqueFd(ends[1]);
}

void ProcessHub::enter_child(UniqueFd link) {
  // The parent's ends are not ours: keeping them open would hide from the parent that a
  // child has left (it would never read end of file).
  children_.clear();
  link_ = std::move(link);
}

std::unique_ptr<HubMember> ProcessHub::join(MemberInfo me, size_t max_queue, IoContext& io) {
  if (!link_) throw std::logic_error("ProcessHub::join outside a forked child");
  std::string request = 'J' + me.nick + '\n' + std::to_string(max_queue) + '\n' + me.peer + '\n' +
                        std::to_string(me.joined);
  std::string nick = LinkMember::call(link_.get(), io, request, 'A', nullptr, nullptr);
  return std::make_unique<LinkMember>(link_.get(), io, nick, reusable_links_);
}

void ProcessHub::add_poll_fds(PollSet& fds) {
  for (const auto& [fd, child] : children_) {
    fds.push_back({fd, static_cast<short>(POLLIN | (child.out.empty() ? 0 : POLLOUT)), 0});
  }
}

void ProcessHub::on_poll(std::span<const pollfd> fds) {
  for (const pollfd& entry : fds) {
    auto it = children_.find(entry.fd);
    if (entry.revents == 0 || it == children_.end()) continue;
    if ((entry.revents & POLLOUT) != 0) flush(it->second);
    if ((entry.revents & (POLLIN | POLLHUP | POLLERR)) != 0) read_packets(it->second);
  }
  remove_finished();
}

void ProcessHub::read_packets(Child& child) {
  try {
    for (int i = 0; i < kPacketsPerWake && !child.gone; ++i) {
      std::optional<std::string> packet = receive_packet(child.link.get(), buffer_);
      if (!packet) return;
      if (packet->empty()) {
        child.gone = true;  // the child left (or exited, or was killed)
        return;
      }
      handle_packet(child, *packet);
    }
  } catch (const std::exception& e) {
    // A broken link, or a packet that makes no sense: that child is cut off, not the server.
    log_warning("hub link: ", e.what());
    child.gone = true;
  }
}

void ProcessHub::handle_packet(Child& child, std::string_view packet) {
  std::string_view body = packet.substr(1);
  switch (packet[0]) {
    case 'J':
      join_child(child, body);
      break;
    case 'P':
      publish(child, body);
      break;
    case 'Q':
      if (!body.empty()) publish(child, body);
      // Out of the roster now. Under fork the link closes when the child ends; a prefork
      // worker reuses it for its next member, which must start with an empty queue.
      child.joined = false;
      child.dropped = false;
      child.out.clear();
      child.queued = 0;
      queue(child, "K");
      break;
    case 'N': {
      std::string nick(body);
      bool taken = std::any_of(children_.begin(), children_.end(), [&](const auto& entry) {
        return &entry.second != &child && entry.second.joined &&
               same_nick(entry.second.info.nick, nick);
      });
      if (!taken) child.info.nick = nick;
      queue(child, taken ? "R0" : "R1");
      break;
    }
    case 'W':
      queue(child, 'L' + who());
      break;
    default:
      log_warning("hub: unknown packet type from a child");
  }
}

void ProcessHub::join_child(Child& child, std::string_view request) {
  std::vector<std::string> fields = split(request, '\n');
  if (fields.size() != 4 || child.joined || child.dropped) {
    log_warning("hub: malformed join from a child");
    child.gone = true;
    return;
  }
  child.info.nick = unique_nick(fields[0], [this](const std::string& nick) {
    return std::any_of(children_.begin(), children_.end(), [&](const auto& entry) {
      return entry.second.joined && same_nick(entry.second.info.nick, nick);
    });
  });
  child.max_queue = std::stoull(fields[1]);
  child.info.peer = fields[2];
  child.info.joined = std::stoll(fields[3]);
  child.joined = true;
  child.order = ++joins_;
  queue(child, 'A' + child.info.nick);
}

void ProcessHub::publish(const Child& sender, std::string_view text) {
  std::string packet = 'M' + std::string(text);
  for (auto& [fd, child] : children_) {
    if (&child != &sender && child.joined && !child.gone && !child.deaf) queue(child, packet);
  }
}

void ProcessHub::queue(Child& child, std::string packet) {
  if (child.deaf) return;  // it can take nothing more; its end of file is on the way
  child.queued += packet.size();
  child.out.push_back(std::move(packet));
  if (child.joined && child.queued > child.max_queue) {
    // A slow reader: drop it from the roster instead of queueing without end, and tell it
    // (the notice goes out when its link has room).
    log_info("hub: dropping ", client_text(child.info.nick), ": more than ", child.max_queue,
             " bytes waiting");
    child.joined = false;
    child.dropped = true;
    child.out.clear();
    child.out.push_back("Dmore than " + std::to_string(child.max_queue) + " bytes waiting");
    child.queued = child.out.back().size();
  }
  flush(child);
}

void ProcessHub::flush(Child& child) {
  try {
    while (!child.out.empty() && send_packet(child.link.get(), child.out.front())) {
      child.queued -= child.out.front().size();
      child.out.pop_front();
    }
  } catch (const std::system_error& e) {
    // The child shut its end (EPIPE): it is leaving. Not `gone` yet: its last packets (a
    // farewell the others must hear, "*** x left (too slow...)") are still in the link, and
    // read_packets reads them, up to the end of file that follows.
    log_info("hub link: ", e.what());
    child.deaf = true;
    child.out.clear();
    child.queued = 0;
  }
}

std::string ProcessHub::who() const {
  std::vector<const Child*> members;
  for (const auto& [fd, child] : children_) {
    if (child.joined && !child.gone && !child.deaf) members.push_back(&child);
  }
  std::sort(members.begin(), members.end(),
            [](const Child* a, const Child* b) { return a->order < b->order; });
  std::string list;
  for (const Child* child : members) {
    list += child->info.nick + '\t' + child->info.peer + '\t' + std::to_string(child->info.joined) +
            '\n';
  }
  return list;
}

void ProcessHub::remove_finished() {
  std::erase_if(children_, [](const auto& entry) { return entry.second.gone; });
}

}  // namespace sockserv
