// Gate 11 and log injection: no control character or escape sequence a client chooses reaches
// another client's terminal or the administrator's log raw. Chat lines and nicks, file names
// in file-server's log lines and in file-client's listings, and chat-client facing a server
// that is not ours.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sysexits.h>

#include <atomic>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <future>
#include <optional>

#include "error.hpp"
#include "harness.hpp"
#include "socket.hpp"

namespace bdata = boost::unit_test::data;
using namespace sockserv;
using namespace sockserv::test;

namespace terminal_safety_test {

// A name that forges a log line if printed raw, and clears the screen of whoever reads it.
const std::string kEvilName = "evil\nsockserv[1]: forged\x1b[2J.txt";
const std::string kEvilNameEscaped = "evil\\x0asockserv[1]: forged\\x1b[2J.txt";

// The bytes nobody may receive raw: C0 controls but the line feed (and `separator`, a
// listing's tab), DEL, and C1 controls in UTF-8.
bool has_raw_control(const std::string& text, char separator = '\n') {
  for (size_t i = 0; i < text.size(); ++i) {
    auto b = static_cast<unsigned char>(text[i]);
    if ((b < 0x20 && b != '\n' && b != separator) || b == 0x7f) return true;
    if (b == 0xc2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) < 0xa0)
      return true;
  }
  return false;
}

// A chat member on a raw socket: the test sees every byte the server sends it.
class RawMember {
 public:
  RawMember(uint16_t port, const std::string& nick) : fd_(connect_tcp(port)) {
    set_nonblocking(fd_.get(), true);
    BOOST_REQUIRE(next_line());  // the greeting
    say("/nick " + nick);
    BOOST_REQUIRE(wait_for("*** you are now "));
  }
  void say(const std::string& text) { write_all(fd_.get(), text + "\n", Deadline::after(10s)); }
  std::optional<std::string> next_line(Millis timeout = 20s) {
    Deadline deadline = Deadline::after(timeout);
    for (;;) {
      if (size_t end = buffer_.find('\n'); end != std::string::npos) {
        std::string line = buffer_.substr(0, end);
        buffer_.erase(0, end + 1);
        return line;
      }
      char chunk[4096];
      try {
        size_t n = read_some(fd_.get(), std::as_writable_bytes(std::span(chunk)), deadline);
        if (n == 0) return std::nullopt;
        received_.append(chunk, n);
        buffer_.append(chunk, n);
      } catch (const TimeoutError&) {
        return std::nullopt;
      }
    }
  }
  // Reads lines until one contains `text` (bounded: 200 lines or the timeout).
  std::optional<std::string> wait_for(const std::string& text) {
    for (int i = 0; i < 200; ++i) {
      std::optional<std::string> line = next_line();
      if (!line || line->find(text) != std::string::npos) return line;
    }
    return std::nullopt;
  }
  const std::string& received() const { return received_; }

 private:
  UniqueFd fd_;
  std::string buffer_;
  std::string received_;  // every byte so far
};

ServerProcess start_chat(const std::string& model) {
  std::vector<std::string> args{"--listen", "127.0.0.1:0", "--model", model};
  std::vector<std::string> room = room_for(model, 4);
  args.insert(args.end(), room.begin(), room.end());
  return ServerProcess("chat-server", args);
}

}  // namespace terminal_safety_test
using namespace terminal_safety_test;

BOOST_AUTO_TEST_SUITE(terminal_safety)

BOOST_DATA_TEST_CASE(file_names_reach_the_log_escaped, bdata::make(all_models()), model) {
  TempDir root, out;
  root.write(kEvilName, "payload\n");
  ServerProcess server("file-server", {"--listen", "127.0.0.1:0", "--model", model, "--root",
                                       root.path.string(), "--allow-upload"});
  RunResult get = run_program(
      "file-client", {server.address(), "get", kEvilName, "-o", (out.path / "got").string()});
  BOOST_TEST(get.exit_code == 0, get.err);
  out.write("up", "uploaded\n");
  std::string uploaded =
      "up\r\x1b]0;owned\x07\xc2\x9b"
      "31m";
  RunResult put =
      run_program("file-client", {server.address(), "put", (out.path / "up").string(), uploaded});
  BOOST_TEST(put.exit_code == 0, put.err);
  BOOST_TEST(server.wait_for_log(": get " + kEvilNameEscaped + " from 0"), server.log());
  BOOST_TEST(server.wait_for_log(": put up\\x0d\\x1b]0;owned\\x07\\xc2\\x9b31m (9 bytes)"),
             server.log());
  std::string log = server.log();
  BOOST_TEST(!has_raw_control(log), log);
  BOOST_TEST(log.find("\nsockserv[1]: forged") == std::string::npos, log);
}

BOOST_AUTO_TEST_CASE(refused_names_and_protocol_errors_reach_the_log_escaped) {
  TempDir root;
  ServerProcess server("file-server", {"--listen", "127.0.0.1:0", "--model", "thread", "--root",
                                       root.path.string()});
  TempDir out;  // where the client would save the file: never the test's own directory
  run_program("file-client", {server.address(), "get", "../\x1b[2J\nforged", "-o",
                              (out.path / "forged").string()});
  // Broken JSON: the parser's message quotes the client's bytes ("last read: ...").
  std::string bad_json = "{\"op\": \x1b[2J\n}";
  std::string frame = std::string("\0\0\0", 3) + static_cast<char>(bad_json.size()) + bad_json;
  exchange(server.port(), frame, 10000ms);
  BOOST_TEST(server.wait_for_log("refused name \"../\\x1b[2J\\x0aforged\""), server.log());
  BOOST_TEST(server.wait_for_log("protocol error"), server.log());
  BOOST_TEST(!has_raw_control(server.log()), server.log());
}

BOOST_AUTO_TEST_CASE(file_client_lists_names_escaped) {
  TempDir root;
  root.write(kEvilName, "x");
  root.write("tab\there\\too", "y");
  ServerProcess server("file-server", {"--listen", "127.0.0.1:0", "--model", "thread", "--root",
                                       root.path.string()});
  RunResult list = run_program("file-client", {server.address(), "list"});
  BOOST_TEST(list.exit_code == 0, list.err);
  BOOST_TEST(list.out.find(kEvilNameEscaped + "\n") != std::string::npos, list.out);
  BOOST_TEST(list.out.find("tab\\x09here\\x5ctoo\n") != std::string::npos, list.out);
  BOOST_TEST(!has_raw_control(list.out, '\t'), list.out);
}

BOOST_DATA_TEST_CASE(chat_refuses_control_characters_and_relays_none,
                     bdata::make(concurrent_models()), model) {
  ServerProcess server = start_chat(model);
  RawMember ann(server.port(), "ann"), bob(server.port(), "bob");
  BOOST_REQUIRE(ann.wait_for(" is now known as bob"));
  const std::vector<std::string> attacks{
      "\x1b[2J\x1b[Hthe screen is gone",  // clear screen
      "\x1b]0;pwned\x07",                 // window title
      "\x1b[8mhidden\x1b[0m",             // invisible text
      "x\r[bob] I owe ann 100 euros",     // a CR rewrites the [nick] prefix
      "\xc2\x9b"
      "2J (C1 CSI in UTF-8)",  // an 8-bit terminal's CSI
      "tab\there",             // even a tab: refused, not half-relayed
      "\x7f\x08\x08"
      "backspaced",  // DEL and BS
  };
  for (const std::string& attack : attacks) {
    ann.say(attack);
    std::optional<std::string> refusal = ann.next_line();
    BOOST_REQUIRE(refusal);
    BOOST_TEST(refusal->starts_with("!!! control characters are not relayed: dropped"), *refusal);
    BOOST_TEST(!has_raw_control(*refusal), *refusal);
  }
  ann.say("/me waves \x1b[5mblinking");
  BOOST_TEST(ann.next_line().value_or("").starts_with("!!! control characters"));
  ann.say("plain words");
  // The first thing bob hears from ann is the plain line: none of the attacks came before it.
  BOOST_TEST(bob.next_line().value_or("") == "[ann] plain words");
  BOOST_TEST(!has_raw_control(bob.received()), bob.received());
}

BOOST_DATA_TEST_CASE(nicks_are_unique_without_regard_to_case, bdata::make(concurrent_models()),
                     model) {
  ServerProcess server = start_chat(model);
  RawMember first(server.port(), "Ann"), second(server.port(), "bob");
  second.say("/nick ann");
  BOOST_TEST(second.next_line().value_or("") == "!!! nick ann is taken");
  second.say("/nick ANN");
  BOOST_TEST(second.next_line().value_or("") == "!!! nick ANN is taken");
  first.say("/nick ANN");  // a member may change the case of its own nick
  BOOST_TEST(first.wait_for("*** you are now ANN").has_value());
}

BOOST_AUTO_TEST_CASE(chat_client_escapes_what_a_foreign_server_sends) {
  Listener listener = open_listener(parse_endpoint("127.0.0.1:0"), SocketOptions{});
  uint16_t port = listener.local().port();
  // A server that is not ours: it sends escape sequences, a bare CR and C1 bytes, and an
  // unfinished last line, then reads the client's /quit and closes.
  std::future<void> rogue = std::async(std::launch::async, [&] {
    pollfd ready{listener.fd(), POLLIN, 0};
    if (::poll(&ready, 1, 20000) != 1) return;  // bounded: the client never came
    UniqueFd client(::accept4(listener.fd(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!client) return;
    write_all(client.get(), std::string("\x1b[2J\x1b]0;pwned\x07[bob] hi\rX\n\xc2\x9b") +
                                "31m red" + "\x9b\xff" + "\n[eve] unfinished\x1b[8m");
    std::string heard;
    Deadline deadline = Deadline::after(10s);
    while (heard.find("/quit\n") == std::string::npos && !deadline.expired()) {
      char chunk[256];
      try {
        size_t n = read_some(client.get(), std::as_writable_bytes(std::span(chunk)), deadline);
        if (n == 0) break;
        heard.append(chunk, n);
      } catch (const TimeoutError&) {
        break;
      }
    }
  });
  RunResult chat = run_program("chat-client", {"127.0.0.1:" + std::to_string(port)}, "", 20000ms);
  rogue.get();
  BOOST_TEST(chat.out ==
                 "\\x1b[2J\\x1b]0;pwned\\x07[bob] hi\\x0dX\n"
                 "\\xc2\\x9b31m red\\x9b\\xff\n"
                 "[eve] unfinished\\x1b[8m\n",
             chat.out);
  BOOST_TEST(!has_raw_control(chat.out), chat.out);
}

// A foreign server that never ends its line must not make chat-client hold it all: past
// --max-line the client says so and closes (exit 76, EX_PROTOCOL).
BOOST_AUTO_TEST_CASE(chat_client_refuses_an_endless_line) {
  Listener listener = open_listener(parse_endpoint("127.0.0.1:0"), SocketOptions{});
  uint16_t port = listener.local().port();
  std::atomic<size_t> sent = 0;
  std::future<void> rogue = std::async(std::launch::async, [&] {
    pollfd ready{listener.fd(), POLLIN, 0};
    if (::poll(&ready, 1, 20000) != 1) return;  // bounded: the client never came
    UniqueFd client(::accept4(listener.fd(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!client) return;
    std::string chunk(64 * 1024, 'A');
    Deadline deadline = Deadline::after(15s);
    try {  // until the client closes (EPIPE, ECONNRESET) or 64 MiB or 15 s
      while (sent < (64u << 20) && !deadline.expired()) {
        write_all(client.get(), chunk, deadline);
        sent += chunk.size();
      }
    } catch (const std::exception&) {
    }
  });
  RunResult chat = run_program(
      "chat-client", {"127.0.0.1:" + std::to_string(port), "--max-line", "100000"}, "", 20000ms);
  rogue.get();
  BOOST_TEST(chat.exit_code == EX_PROTOCOL, chat.err);
  BOOST_TEST(chat.err.find("a line over 100000 bytes") != std::string::npos, chat.err);
  BOOST_TEST(sent < (64u << 20), "the client read on: " << sent << " bytes sent");
}

// --max-line 0 would end every chat at its first byte: a usage error, before connecting.
// (Negative and huge values: program/every_numeric_option_of_every_program_refuses_...)
BOOST_AUTO_TEST_CASE(chat_client_max_line_zero_is_a_usage_error) {
  RunResult chat = run_program("chat-client", {"127.0.0.1:1", "--max-line", "0"}, "", 5000ms);
  BOOST_TEST(chat.exit_code == EX_USAGE, chat.err);
  BOOST_TEST(chat.err.find("--max-line must be 1 to 1 GiB") != std::string::npos, chat.err);
}

// The same bound on what is typed: a line of input past --max-line is not sent (exit 65).
BOOST_AUTO_TEST_CASE(chat_client_refuses_an_endless_typed_line) {
  ServerProcess server = start_chat("thread");
  RunResult chat = run_program("chat-client", {server.address(), "--max-line", "1000"},
                               std::string(5000, 'x'), 20000ms);
  BOOST_TEST(chat.exit_code == EX_DATAERR, chat.err);
  BOOST_TEST(chat.err.find("a line of input over 1000 bytes") != std::string::npos, chat.err);
}

BOOST_AUTO_TEST_SUITE_END()
