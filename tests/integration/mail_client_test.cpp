// mail-client against a real SMTP server on loopback: aiosmtpd (Debian: python3-aiosmtpd),
// started by tests/peers/smtp_sink.py, which stores each message it receives. What arrived
// is read back by Python's email package (tests/peers/mail_parse.py, policy=default), as a
// mail reader would, and compared with what was sent: subject, names, body, attachments'
// bytes and file names. Then AUTH PLAIN and LOGIN, refusals (535, 550), HELO fallback,
// where the password may come from, --starttls refused, timeouts and size limits.
#include <netinet/in.h>
#include <sys/socket.h>
#include <sysexits.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "error.hpp"
#include "harness.hpp"
#include "peers.hpp"

using namespace sockserv;
using namespace sockserv::test;
using Json = nlohmann::json;

namespace mail_client_test {

const char* const kPython = "/usr/bin/python3";  // Debian's: the one python3-aiosmtpd is for

// An aiosmtpd server on 127.0.0.1 and a port of its choosing, killed by PID at the end.
class SmtpSink {
 public:
  explicit SmtpSink(std::vector<std::string> options = {})
      : process_(command(dir_.path.string(), std::move(options))) {
    BOOST_REQUIRE_MESSAGE(process_.wait_for_log("port "),
                          "smtp_sink.py did not start: " << process_.log());
    std::string log = process_.log();
    port_ = static_cast<uint16_t>(std::stoi(log.substr(log.find("port ") + 5)));
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  uint16_t port() const { return port_; }
  std::filesystem::path message_file(int n, const char* extension) const {
    return dir_.path / "messages" / (std::to_string(n) + extension);
  }
  /// True when message `n` has arrived (its envelope is written last).
  bool received(int n) const { return std::filesystem::exists(message_file(n, ".json")); }
  Json envelope(int n) const { return Json::parse(file_text(message_file(n, ".json"))); }
  std::string raw(int n) const { return file_text(message_file(n, ".eml")); }
  /// Message `n` as Python's email package reads it (see mail_parse.py).
  Json parsed(int n) const {
    RunResult result = run_program(kPython, {script("mail_parse.py"), message_file(n, ".eml")});
    BOOST_REQUIRE_MESSAGE(result.exit_code == 0, "mail_parse.py: " << result.err);
    return Json::parse(result.out);
  }
  std::string log() const { return process_.log(); }

 private:
  static std::string script(const std::string& name) {
    return source_dir() + "/tests/peers/" + name;
  }
  static std::vector<std::string> command(const std::string& dir,
                                          std::vector<std::string> options) {
    std::vector<std::string> argv{kPython, "-W", "ignore", script("smtp_sink.py"),
                                  dir + "/messages"};
    argv.insert(argv.end(), options.begin(), options.end());
    return argv;
  }

  TempDir dir_{"smtp"};
  Spawned process_;
  uint16_t port_ = 0;
};

std::vector<std::string> basic_args(const SmtpSink& sink) {
  return {"--server",      sink.address(), "--from", "a@example.org", "--to",
          "b@example.org", "--subject",    "test",   "--timeout",     "20"};
}

std::vector<std::string> with(std::vector<std::string> args, const std::vector<std::string>& more) {
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

std::string lf_lines(std::string text) {
  for (size_t at; (at = text.find("\r\n")) != std::string::npos;) text.erase(at, 1);
  return text;
}

std::string hex_of(const std::string& bytes) {
  static const char* const kDigits = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : bytes) {
    hex += kDigits[c >> 4];
    hex += kDigits[c & 15];
  }
  return hex;
}

// What the whole run said, for a failed check.
std::string report(const RunResult& run, const SmtpSink& sink) {
  return "exit " + std::to_string(run.exit_code) + "\nstdout: " + run.out + "\nstderr: " + run.err +
         "\nsink: " + sink.log();
}

}  // namespace mail_client_test

using namespace mail_client_test;

BOOST_AUTO_TEST_SUITE(mail_client)

BOOST_AUTO_TEST_CASE(chinese_message_with_two_attachments_parses_back_exactly) {
  SmtpSink sink;
  TempDir files("mail-files");
  std::string every_byte;
  for (int round = 0; round < 3; ++round)
    for (int b = 0; b < 256; ++b) every_byte += static_cast<char>(b);
  std::string text = "第一行\n.a line that starts with a dot\nlast line\n";
  files.write("every-byte.bin", every_byte);
  files.write("说明 文档.txt", text);
  const std::string subject =
      "你好，世界！这是一封带附件的测试邮件，主题足够长，必须折成好几行才能放下";
  const std::string body = "张三你好：\n\n附件是数据。\n.这一行以点开头\n..两个点\n.\n谢谢！\n";
  RunResult run = run_program("mail-client", {"--server",  sink.address(),
                                              "--from",    "张三 <zhangsan@example.org>",
                                              "--to",      "李四 <lisi@example.org>",
                                              "--to",      "wangwu@example.org",
                                              "--cc",      "赵六 <zhaoliu@example.org>",
                                              "--bcc",     "hidden@example.org",
                                              "--subject", subject,
                                              "--attach",  (files.path / "every-byte.bin").string(),
                                              "--attach",  (files.path / "说明 文档.txt").string(),
                                              "--timeout", "20"},
                              body);
  BOOST_REQUIRE_MESSAGE(run.exit_code == 0, report(run, sink));
  BOOST_TEST(run.out.starts_with("250 "));
  BOOST_REQUIRE(sink.received(1));

  Json envelope = sink.envelope(1);
  BOOST_TEST(envelope["mail_from"] == "zhangsan@example.org");
  BOOST_TEST(envelope["rcpt_tos"] == Json::array({"lisi@example.org", "wangwu@example.org",
                                                  "zhaoliu@example.org", "hidden@example.org"}));

  Json mail = sink.parsed(1);
  BOOST_TEST(mail["defects"].empty(), mail["defects"].dump());
  BOOST_TEST(mail["subject"] == subject);
  BOOST_TEST(mail["from"] == Json::array({Json::array({"张三", "zhangsan@example.org"})}));
  BOOST_TEST(mail["to"] == Json::array({Json::array({"李四", "lisi@example.org"}),
                                        Json::array({"", "wangwu@example.org"})}));
  BOOST_TEST(mail["cc"] == Json::array({Json::array({"赵六", "zhaoliu@example.org"})}));
  BOOST_TEST(mail["bcc_header"] == false);
  BOOST_TEST(sink.raw(1).find("hidden@example.org") == std::string::npos);
  BOOST_TEST(mail["content_type"] == "multipart/mixed");
  BOOST_TEST(mail["mime_version"] == "1.0");
  BOOST_TEST(mail["date_parsed"] == true);
  BOOST_TEST(mail["message_id"].get<std::string>().ends_with("@example.org>"));
  BOOST_TEST(mail["body_charset"] == "utf-8");
  BOOST_TEST(lf_lines(mail["body"].get<std::string>()) == body);
  BOOST_REQUIRE(mail["attachments"].size() == 2u);
  BOOST_TEST(mail["attachments"][0]["filename"] == "every-byte.bin");
  BOOST_TEST(mail["attachments"][0]["content_type"] == "application/octet-stream");
  BOOST_TEST(mail["attachments"][0]["hex"] == hex_of(every_byte));
  BOOST_TEST(mail["attachments"][1]["filename"] == "说明 文档.txt");
  BOOST_TEST(mail["attachments"][1]["content_type"] == "text/plain");
  BOOST_TEST(mail["attachments"][1]["hex"] == hex_of(text));
  BOOST_TEST(mail["longest_header_line"].get<int>() <= 78);
  BOOST_TEST(mail["longest_part_header_line"].get<int>() <= 78);
  BOOST_TEST(mail["bare_lf"] == 0);
}

BOOST_AUTO_TEST_CASE(lines_starting_with_a_dot_arrive_whole) {
  // A 7bit body goes as it is: only dot-stuffing keeps ".hidden" from losing its dot and
  // the lone "." from ending the data early.
  SmtpSink sink;
  const std::string body = "first\n.hidden\n..two dots\n.\nafter the lone dot\n";
  RunResult run = run_program("mail-client", basic_args(sink), body);
  BOOST_REQUIRE_MESSAGE(run.exit_code == 0, report(run, sink));
  BOOST_REQUIRE(sink.received(1));
  BOOST_TEST(sink.raw(1).find("7bit\r\n\r\nfirst\r\n.hidden\r\n..two dots\r\n.\r\nafter") !=
             std::string::npos);
  BOOST_TEST(lf_lines(sink.parsed(1)["body"].get<std::string>()) == body);
}

BOOST_AUTO_TEST_CASE(auth_plain_and_login_succeed_with_the_right_password) {
  SmtpSink sink({"--auth", "alice:s3cret pass"});
  TempDir secrets("mail-secret");
  secrets.write("password", "s3cret pass\n");
  std::string password_file = (secrets.path / "password").string();
  struct Way {
    std::vector<std::string> options;
    std::vector<std::string> env;
  };
  std::vector<Way> ways{
      {{"--auth", "plain"}, {"SMTP_PASSWORD=s3cret pass"}},
      {{"--auth", "login"}, {"SMTP_PASSWORD=s3cret pass"}},
      {{}, {"SMTP_PASSWORD=wrong, not used", "MY_SECRET=s3cret pass"}},  // auto: PLAIN
      {{"--auth", "login", "--password-file", password_file}, {"SMTP_PASSWORD"}},
  };
  int n = 0;
  for (Way& way : ways) {
    std::vector<std::string> options = with({"--user", "alice"}, way.options);
    if (way.env.size() == 2) options = with(options, {"--password-env", "MY_SECRET"});
    RunResult run =
        run_program("mail-client", with(basic_args(sink), options), "hi\n", 20s, way.env);
    BOOST_TEST_REQUIRE(run.exit_code == 0, report(run, sink));
    ++n;
    BOOST_REQUIRE(sink.received(n));
    BOOST_TEST(sink.envelope(n)["login"] == "alice");
  }
  // A password file others can read is sent, with a warning; one for its owner only, silently.
  std::vector<std::string> from_file =
      with(basic_args(sink), {"--user", "alice", "--password-file", password_file});
  for (auto mode : {std::filesystem::perms(0644), std::filesystem::perms(0600)}) {
    std::filesystem::permissions(password_file, mode);
    RunResult run = run_program("mail-client", from_file, "hi\n");
    BOOST_TEST_REQUIRE(run.exit_code == 0, report(run, sink));
    bool warned = run.err.find("is open to other users (mode 0644)") != std::string::npos;
    BOOST_TEST(warned == (mode == std::filesystem::perms(0644)), run.err);
  }
}

BOOST_AUTO_TEST_CASE(a_wrong_password_fails_with_535) {
  SmtpSink sink({"--auth", "alice:s3cret"});
  for (const char* mechanism : {"plain", "login"}) {
    RunResult run =
        run_program("mail-client", with(basic_args(sink), {"--user", "alice", "--auth", mechanism}),
                    "hi\n", 20s, {"SMTP_PASSWORD=not the password"});
    BOOST_TEST(run.exit_code == EX_NOPERM, report(run, sink));
    BOOST_TEST(run.err.find("server refused AUTH") != std::string::npos, run.err);
    BOOST_TEST(run.err.find("535") != std::string::npos, run.err);
    BOOST_TEST(run.err.find("not the password") == std::string::npos);
  }
  // Without --user, the server that requires AUTH says so (530) at MAIL FROM.
  RunResult run = run_program("mail-client", basic_args(sink), "hi\n");
  BOOST_TEST(run.exit_code == EX_NOPERM, report(run, sink));
  BOOST_TEST(run.err.find("530") != std::string::npos, run.err);
  BOOST_TEST(!sink.received(1));
}

BOOST_AUTO_TEST_CASE(a_refused_recipient_fails_with_550_and_sends_nothing) {
  SmtpSink sink({"--reject-rcpt", "nobody@example.org"});
  RunResult run =
      run_program("mail-client", with(basic_args(sink), {"--to", "nobody@example.org"}), "hi\n");
  BOOST_TEST(run.exit_code == EX_UNAVAILABLE, report(run, sink));
  BOOST_TEST(
      run.err.find("server refused RCPT TO:<nobody@example.org>: 550 5.1.1") != std::string::npos,
      run.err);
  BOOST_TEST(!sink.received(1));
}

BOOST_AUTO_TEST_CASE(a_deferred_recipient_fails_with_451_as_try_later) {
  SmtpSink sink({"--defer-rcpt", "later@example.org"});
  RunResult run =
      run_program("mail-client", with(basic_args(sink), {"--to", "later@example.org"}), "hi\n");
  BOOST_TEST(run.exit_code == EX_TEMPFAIL, report(run, sink));
  BOOST_TEST(
      run.err.find("server refused RCPT TO:<later@example.org>: 451 4.3.0") != std::string::npos,
      run.err);
  BOOST_TEST(!sink.received(1));
}

BOOST_AUTO_TEST_CASE(a_message_over_the_servers_size_is_not_sent) {
  SmtpSink sink({"--size-limit", "2000"});
  RunResult run = run_program("mail-client", basic_args(sink), std::string(3000, 'x') + "\n");
  BOOST_TEST(run.exit_code == EX_DATAERR, report(run, sink));
  BOOST_TEST(run.err.find("the server takes at most 2000 (its SIZE)") != std::string::npos,
             run.err);
  BOOST_TEST(!sink.received(1));
  // Under the limit, MAIL FROM says how big the message is (RFC 1870).
  RunResult small = run_program("mail-client", basic_args(sink), "hi\n");
  BOOST_REQUIRE_MESSAGE(small.exit_code == 0, report(small, sink));
  BOOST_TEST(sink.envelope(1)["mail_options"][0].get<std::string>().starts_with("SIZE="));
}

BOOST_AUTO_TEST_CASE(a_server_without_ehlo_gets_helo) {
  SmtpSink sink({"--no-ehlo"});
  RunResult run = run_program("mail-client", basic_args(sink), "hi\n");
  BOOST_REQUIRE_MESSAGE(run.exit_code == 0, report(run, sink));
  BOOST_TEST(sink.received(1));
  BOOST_TEST(sink.envelope(1)["mail_options"].empty());  // no SIZE=: HELO offers no extension
}

BOOST_AUTO_TEST_CASE(the_password_never_comes_from_the_command_line) {
  SmtpSink sink({"--auth", "alice:s3cret"});
  std::vector<std::string> auth = with(basic_args(sink), {"--user", "alice"});
  for (const char* option : {"--password", "--pass", "--passwd"}) {
    RunResult run = run_program("mail-client", with(auth, {option, "s3cret"}), "hi\n");
    BOOST_TEST(run.exit_code == EX_USAGE, option << ": " << report(run, sink));
  }
  // Nor from a SOCKSERV_ variable: it would be an option's, and there is no such option.
  RunResult variable =
      run_program("mail-client", auth, "hi\n", 20s, {"SOCKSERV_PASSWORD=s3cret", "SMTP_PASSWORD"});
  BOOST_TEST(variable.exit_code == EX_USAGE, report(variable, sink));
  RunResult help = run_program("mail-client", {"--help"});
  BOOST_TEST(help.exit_code == 0);
  BOOST_TEST(help.out.find("--password ") == std::string::npos);
  BOOST_TEST(help.out.find("--password-file") != std::string::npos);

  RunResult missing = run_program(
      "mail-client", with(auth, {"--password-file", "/nonexistent/sockserv-password"}), "hi\n");
  BOOST_TEST(missing.exit_code == EX_NOINPUT, report(missing, sink));
  BOOST_TEST(missing.err.find("cannot read --password-file /nonexistent/sockserv-password") !=
             std::string::npos);
  RunResult unset = run_program("mail-client", auth, "hi\n", 20s, {"SMTP_PASSWORD"});
  BOOST_TEST(unset.exit_code == EX_NOINPUT, report(unset, sink));
  BOOST_TEST(unset.err.find("SMTP_PASSWORD") != std::string::npos, unset.err);
  BOOST_TEST(!sink.received(1));
}

BOOST_AUTO_TEST_CASE(auth_in_clear_to_another_machine_is_refused) {
  // 192.0.2.1 (TEST-NET-1) is never this machine: the refusal comes before any connection.
  RunResult run = run_program("mail-client",
                              {"--server", "192.0.2.1:25", "--from", "a@example.org", "--to",
                               "b@example.org", "--subject", "x", "--user", "alice"},
                              "hi\n", 20s, {"SMTP_PASSWORD=s3cret"});
  BOOST_TEST(run.exit_code == EX_NOPERM, run.err);
  BOOST_TEST(run.err.find("the password would cross the network in clear") != std::string::npos,
             run.err);
}

BOOST_AUTO_TEST_CASE(starttls_refuses_a_server_that_does_not_offer_it) {
  // (STARTTLS itself, over real TLS: tls_client_test.cpp.)
  SmtpSink sink;
  RunResult run = run_program("mail-client", with(basic_args(sink), {"--starttls"}), "hi\n");
  BOOST_TEST(run.exit_code == EX_UNAVAILABLE, report(run, sink));
  BOOST_TEST(run.err.find("does not offer STARTTLS") != std::string::npos, run.err);
  BOOST_TEST(!sink.received(1));
}

BOOST_AUTO_TEST_CASE(a_silent_server_times_out) {
  // A listening socket that never accepts: the kernel completes the handshake, nobody speaks.
  SilentListener listener;
  RunResult run = run_program("mail-client",
                              {"--server", listener.address(), "--from", "a@example.org", "--to",
                               "b@example.org", "--subject", "x", "--timeout", "1"},
                              "hi\n");
  BOOST_TEST(run.exit_code == EX_TEMPFAIL, run.err);
  BOOST_TEST(run.err.find("no reply from the server within --timeout") != std::string::npos,
             run.err);
}

BOOST_AUTO_TEST_CASE(a_server_that_is_not_smtp_is_a_protocol_error) {
  UniqueFd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  BOOST_REQUIRE(::bind(listener.get(), reinterpret_cast<sockaddr*>(&address), length) == 0);
  BOOST_REQUIRE(::listen(listener.get(), 4) == 0);
  BOOST_REQUIRE(::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&address), &length) == 0);
  std::jthread web_server([&] {  // one connection, answered as a web server would
    pollfd ready{listener.get(), POLLIN, 0};
    if (::poll(&ready, 1, 20'000) != 1) return;
    UniqueFd connection(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (connection) test::write_all(connection.get(), "HTTP/1.1 400 Bad Request\r\n\r\n");
  });
  RunResult run =
      run_program("mail-client",
                  {"--server", "127.0.0.1:" + std::to_string(ntohs(address.sin_port)), "--from",
                   "a@example.org", "--to", "b@example.org", "--subject", "x", "--timeout", "20"},
                  "hi\n");
  BOOST_TEST(run.exit_code == EX_PROTOCOL, run.err);
  BOOST_TEST(run.err.find("not an SMTP reply") != std::string::npos, run.err);
}

BOOST_AUTO_TEST_CASE(inputs_over_max_size_or_missing_are_refused_before_sending) {
  SmtpSink sink;
  RunResult big = run_program("mail-client", with(basic_args(sink), {"--max-size", "1000"}),
                              std::string(5000, 'x') + "\n");
  BOOST_TEST(big.exit_code == EX_DATAERR, report(big, sink));
  BOOST_TEST(big.err.find("larger than --max-size") != std::string::npos, big.err);
  RunResult missing = run_program(
      "mail-client", with(basic_args(sink), {"--attach", "/nonexistent/file.pdf"}), "hi\n");
  BOOST_TEST(missing.exit_code == EX_NOINPUT, report(missing, sink));
  BOOST_TEST(missing.err.find("cannot read --attach /nonexistent/file.pdf") != std::string::npos);
  RunResult bad_to =
      run_program("mail-client", with(basic_args(sink), {"--to", "x\r\nRCPT TO:<y>"}), "hi\n");
  BOOST_TEST(bad_to.exit_code == EX_USAGE, report(bad_to, sink));
  RunResult bad_ehlo = run_program(
      "mail-client", with(basic_args(sink), {"--ehlo", "x\r\nMAIL FROM:<y@example.org>"}), "hi\n");
  BOOST_TEST(bad_ehlo.exit_code == EX_USAGE, report(bad_ehlo, sink));
  BOOST_TEST(!sink.received(1));
}

BOOST_AUTO_TEST_SUITE_END()
