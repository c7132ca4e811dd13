// chat-server: a line chat room on port 9999, tcp and unix (seeds 002 and 000; docs/chat.md).
// Each line goes to every other member as "[nick] text"; /nick NAME, /who, /me ACTION, /quit.
// Lines with control characters (ESC, CR, tab...) are refused: they would act on terminals.
// Members meet in the hub (common/hub.hpp): threads share one, forked children reach theirs
// through the parent. --model iterative serves one member at a time: a room of one.
//
// Try it:   chat-server --listen 127.0.0.1:9999 --model thread
//           chat-client 127.0.0.1:9999 --nick ann        (or: nc 127.0.0.1 9999)
#include <algorithm>
#include <cctype>
#include <ctime>

#include "error.hpp"
#include "escape.hpp"
#include "hub.hpp"
#include "run.hpp"
#include "utf8.hpp"

using namespace sockserv;

namespace {

constexpr size_t kMaxNick = 24;
constexpr Millis kLastWordsTimeout{10'000};  // for the notice to a member dropped as too slow

struct ChatSettings {
  size_t max_line = 4096;
  size_t max_queue = 1024 * 1024;
  void add_options(po::options_description& desc) {
    desc.add_options()("max-line", po::value(&max_line)->default_value(max_line),
                       "longest line in bytes (at most 65536)")(
        "max-queue", po::value(&max_queue)->default_value(max_queue),
        "bytes waiting for a member before it is dropped");
  }
  void validate() const {
    if (max_line < 1 || max_line > 65536) throw UsageError("--max-line must be 1 to 65536");
    if (max_queue < 2 * max_line || max_queue > (size_t{1} << 30))
      throw UsageError("--max-queue must be at least twice --max-line and at most 1 GiB");
  }
};

bool nick_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
}

class ChatHandler : public StreamHandler {
 public:
  using Settings = ChatSettings;
  ChatHandler(Connection& c, const ChatSettings& s) : StreamHandler(c), settings_(s) {}

  void setup() override {
    // The default nick comes from the peer address: "127.0.0.1:40312" -> "127.0.0.1-40312".
    std::string nick = connection_.peer_name().substr(0, kMaxNick);
    for (char& c : nick) c = nick_char(c) ? c : '-';
    member_ = connection_.hub().join({nick, connection_.peer_name(), std::time(nullptr)},
                                     settings_.max_queue, connection_.io());
    send("*** welcome to sockserv chat, you are " + member_->nick() +
         "; commands: /nick NAME, /who, /me ACTION, /quit");
    member_->publish("*** " + member_->nick() + " joined");
  }

  void handle() override {
    try {
      while (!done_) serve_once();
      connection_.write_all(outbox_);  // the last replies (after /quit), bounded by idle time
    } catch (const HubOverflow& e) {
      outbox_.clear();  // the backlog is dropped
      leave(" (too slow: " + std::string(e.what()) + ")");
      // Tell the member why; the notice waits a little for room in the socket.
      connection_.set_idle_timeout(kLastWordsTimeout);
      connection_.write_all("!!! disconnected: too slow (" + std::string(e.what()) + ")\n");
    }
  }
  void finish() override { leave(""); }

 private:
  // One wait for the client, the hub, or room to write; never blocks on one of them alone.
  void serve_once() {
    Readiness ready =
        connection_.wait_ready({member_->fd()}, !outbox_.empty(), connection_.idle_deadline());
    if (!ready.any()) throw TimeoutError("idle for too long");
    if (!ready.others.empty())
      for (const std::string& m : member_->receive()) send(m);
    // Only the lines already complete: a member typing half a line (telnet sends each
    // keystroke) must not stop the others' messages from reaching this one.
    if (ready.connection) {
      for (Line line = connection_.try_read_line(settings_.max_line);
           line.status != Line::Status::incomplete && !done_;
           line = connection_.try_read_line(settings_.max_line)) {
        on_line(line);
      }
    }
    if (!outbox_.empty()) outbox_.erase(0, connection_.write_some(as_bytes(outbox_)));
  }

  void on_line(const Line& line) {
    done_ = line.status == Line::Status::eof;
    if (done_) return;
    if (line.status == Line::Status::too_long) {
      send("!!! line too long (over " + std::to_string(settings_.max_line) + " bytes): dropped");
    } else if (!is_valid_utf8(line.text)) {
      send("!!! not UTF-8: dropped");
    } else if (!is_safe_text(line.text)) {
      // ESC, CR, tab and the other controls would act on the other members' terminals
      // (clear the screen, retitle the window, rewrite a "[nick]" prefix): refused, and the
      // sender is shown what was refused, escaped.
      send("!!! control characters are not relayed: dropped \"" +
           escape_text(line.text, EscapeStyle::terminal) + "\"");
    } else if (line.text.starts_with('/')) {
      command(line.text);
    } else if (!line.text.empty()) {
      member_->publish("[" + member_->nick() + "] " + line.text);
    }
  }

  void command(const std::string& text) {
    std::string name = text.substr(0, text.find(' '));
    std::string arg = name.size() < text.size() ? text.substr(name.size() + 1) : "";
    if (name == "/quit") {
      send("*** bye");
      done_ = true;
    } else if (name == "/who") {
      std::vector<MemberInfo> members = member_->members();
      for (const MemberInfo& m : members)
        send("*** who: " + m.nick + " " + m.peer + " since " + utc_timestamp(m.joined));
      send("*** end of who (" + std::to_string(members.size()) + " members)");
    } else if (name == "/me" && !arg.empty()) {
      member_->publish("* " + member_->nick() + " " + arg);
    } else if (name == "/nick" && (arg.empty() || arg.size() > kMaxNick ||
                                   !std::all_of(arg.begin(), arg.end(), nick_char))) {
      send("!!! invalid nick: 1 to 24 letters, digits, '_', '-' or '.'");
    } else if (name == "/nick") {
      std::string old = member_->nick();
      if (arg != old && !member_->rename(arg)) return send("!!! nick " + arg + " is taken");
      if (arg != old) member_->publish("*** " + old + " is now known as " + arg);
      send("*** you are now " + arg);
    } else {
      send("!!! unknown command " + name + " (try /nick NAME, /who, /me ACTION, /quit)");
    }
  }

  // Queues one line for the client; the queue is bounded like the hub's.
  void send(const std::string& line) {
    outbox_ += line + "\n";
    if (outbox_.size() > settings_.max_queue)
      throw HubOverflow("more than " + std::to_string(settings_.max_queue) + " bytes waiting");
  }

  void leave(const std::string& reason) {
    if (!member_) return;
    member_->leave("*** " + member_->nick() + " left" + reason);
    member_.reset();
  }

  const ChatSettings& settings_;
  std::unique_ptr<HubMember> member_;
  std::string outbox_;  // lines for the client that its socket has not taken yet
  bool done_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  return run<ChatHandler>(
      {.name = "chat-server", .port = 9999, .summary = "A line chat room.", .uses_hub = true}, argc,
      argv);
}
