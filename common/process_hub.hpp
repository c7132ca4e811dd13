// ProcessHub: the hub of the fork model, where every member is a separate process.
//
// Processes share no memory, so the parent (the server's main loop) holds the roster and
// relays. Before each fork the parent makes a socketpair: it keeps one end, the child keeps
// the other as its link. A member's publish is one packet to the parent, which queues it for
// every other child and writes as each link can take it (never blocking: a slow child only
// fills its own bounded queue, and is dropped past it). SOCK_SEQPACKET keeps each message
// one packet, so no framing is needed.
//
//   child -> parent   'J' nick \n max_queue \n peer \n joined   join; answered 'A' nick
//                     'P' text                                   publish
//                     'Q' farewell                               publish, then leave the roster;
//                                                                answered 'K'
//                     'N' nick                                   rename; answered 'R' 1|0
//                     'W'                                        who; answered 'L' members
//   parent -> child   'M' text                                   a message for this member
//                     'D' reason                                 dropped: your queue overflowed
// Leaving is 'Q' (or just the link closing, when a child dies). A dropped member is out of the
// roster at once; its link stays open until it leaves, so its farewell still reaches the others.
#pragma once

#include <map>

#include "hub.hpp"

namespace sockserv {

class ProcessHub : public Hub {
 public:
  /// `reusable_links`: a child serves one member after another on the same link (prefork).
  explicit ProcessHub(bool reusable_links = false) : reusable_links_(reusable_links) {}
  /// Parent, before fork(): makes the socketpair, keeps its end, returns the child's end.
  UniqueFd open_link() override;
  /// Child, after fork(): closes the parent's ends (the other children's links too) and keeps
  /// `link` for this process's member.
  void enter_child(UniqueFd link) override;
  /// Child only: joins through the link and waits for the parent's answer.
  std::unique_ptr<HubMember> join(MemberInfo me, size_t max_queue, IoContext& io) override;
  /// Parent: every link is polled for input, and for output while its queue is not empty.
  void add_poll_fds(PollSet& fds) override;
  void on_poll(std::span<const pollfd> fds) override;

 private:
  struct Child {
    UniqueFd link;
    bool joined = false;      // in the roster: receives messages, listed by /who
    bool dropped = false;     // overflowed: told so, out of the roster
    bool deaf = false;        // its end refused our packets (EPIPE, it is leaving): send it
                              // nothing more, but read what it sent before, up to its EOF
    bool gone = false;        // the link is closed or broken: remove it
    std::uint64_t order = 0;  // join order, for /who
    MemberInfo info;
    size_t max_queue = 0;
    std::deque<std::string> out;  // packets the link has not taken yet
    size_t queued = 0;            // bytes in `out`
  };
  void read_packets(Child& child);
  void handle_packet(Child& child, std::string_view packet);
  void join_child(Child& child, std::string_view request);
  void publish(const Child& sender, std::string_view text);
  void queue(Child& child, std::string packet);
  void flush(Child& child);
  std::string who() const;
  void remove_finished();

  std::map<int, Child> children_;  // parent: by the parent's end of the link
  std::uint64_t joins_ = 0;
  std::vector<char> buffer_;  // parent: one packet being read
  UniqueFd link_;             // child: its end of the link
  bool reusable_links_;
};

}  // namespace sockserv
