// The clients over TLS against real TLS peers: `openssl s_server` (-rev answers each line
// reversed: a palindrome comes back as sent), Python's http.server wrapped with its ssl
// module (tests/integration/http_peer.py --tls) and aiosmtpd with STARTTLS or implicit TLS
// (tests/peers/smtp_sink.py). Certificates are made with `openssl req` and `openssl x509` in
// a temporary directory (tests/integration/tls_certs.hpp, shared with the server-side tests,
// and one more here): a CA, a good server certificate (DNS:localhost, IP:127.0.0.1), one
// expired, one for another name, a self-signed one, and a client certificate. Every peer is started
// and ended by PID (Spawned).
#include <netinet/in.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <unistd.h>

#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <ctime>
#include <filesystem>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "harness.hpp"
#include "peers.hpp"
#include "sha256.hpp"
#include "tls_certs.hpp"

using namespace sockserv;
using namespace sockserv::test;

namespace tls_client_test {

const char* const kPython = "/usr/bin/python3";  // Debian's: python3-aiosmtpd is for it
const char* const kOpenssl = "/usr/bin/openssl";

// The suite's certificates: the CA of tls_certs.hpp (shared with the server-side tests) and
// what it signs, plus one it does not make: a certificate for another name.
class Pki {
 public:
  Pki() {
    files_["ca"] = {test_pki_.ca_cert(), ""};
    files_["good"] = test_pki_.server("good");
    files_["expired"] = test_pki_.server("expired", "localhost", -1);
    files_["untrusted"] = test_pki_.self_signed("untrusted");
    files_["client"] = test_pki_.client("client", "client");
    files_["wrong-name"] = wrong_name();
  }
  std::string pem(const std::string& name) const { return files_.at(name).cert; }
  std::string key(const std::string& name) const { return files_.at(name).key; }

 private:
  // Signed by the same CA, valid, for wrong.example and 192.0.2.1 only.
  CertFiles wrong_name() const {
    std::string base = (test_pki_.dir() / "wrong-name").string();
    CertFiles files{base + ".pem", base + ".key"};
    run_openssl({"req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", files.key, "-out", base + ".csr", "-subj", "/CN=wrong.example",
                 "-addext", "subjectAltName=DNS:wrong.example,IP:192.0.2.1"});
    run_openssl({"x509", "-req", "-in", base + ".csr", "-CA", pem("ca"), "-CAkey",
                 (test_pki_.dir() / "ca.key").string(), "-CAcreateserial", "-days", "2",
                 "-copy_extensions", "copyall", "-out", files.cert});
    return files;
  }

  TestPki test_pki_;
  std::map<std::string, CertFiles> files_;
};

const Pki& pki() {
  static const Pki instance;
  return instance;
}

// A peer that prints its port once it listens ("ACCEPT 127.0.0.1:N", "port N", ...).
class Peer {
 public:
  explicit Peer(std::vector<std::string> argv, const char* pattern = R"(port (\d+))")
      : process_(std::move(argv)) {
    std::regex port_line(pattern);
    std::smatch match;
    std::string log;
    bool up = eventually(
        [&] {
          log = process_.log();
          return std::regex_search(log, match, port_line);
        },
        10000ms);
    BOOST_REQUIRE_MESSAGE(up, "the peer did not start: " << process_.log());
    port_ = static_cast<uint16_t>(std::stoi(match[1]));
  }
  uint16_t port() const { return port_; }
  std::string at(const std::string& host) const { return host + ":" + std::to_string(port_); }
  std::string log() const { return process_.log(); }

 private:
  Spawned process_;
  uint16_t port_ = 0;
};

// openssl s_server -rev with the certificate `name`; extra options (-Verify 1...) appended.
Peer s_server(const std::string& name, std::vector<std::string> extra = {}) {
  std::vector<std::string> argv{kOpenssl,      "s_server",      "-accept",
                                "127.0.0.1:0", "-cert",         pki().pem(name),
                                "-key",        pki().key(name), "-rev"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return Peer(argv, R"(ACCEPT 127\.0\.0\.1:(\d+))");
}

RunResult echo_over_tls(const std::string& address, std::vector<std::string> options) {
  std::vector<std::string> args{"--tls",   address, "--message", "level",
                                "--count", "2",     "--timeout", "20"};
  args.insert(args.end(), options.begin(), options.end());
  return run_program("echo-client", args);
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string sha256_text(const std::string& data) {
  Sha256 hash;
  hash.update(std::as_bytes(std::span(data.data(), data.size())));
  return hash.hex_digest();
}

BOOST_AUTO_TEST_SUITE(tls_client)

BOOST_AUTO_TEST_CASE(echo_round_trip_with_a_good_certificate_by_name_and_by_address) {
  Peer server = s_server("good");
  for (const char* host : {"localhost", "127.0.0.1"}) {
    RunResult r = echo_over_tls(server.at(host), {"--ca", pki().pem("ca")});
    BOOST_TEST(r.exit_code == 0, host << ": " << r.err);
    BOOST_TEST(r.out == "level\nlevel\n", host);
    BOOST_TEST(r.err.empty(), r.err);
  }
}

BOOST_AUTO_TEST_CASE(unknown_ca_expired_and_wrong_name_are_refused_with_the_reason) {
  struct Case {
    const char* cert;
    const char* host;
    const char* reason;
  };
  for (const Case& c : {Case{"untrusted", "localhost", "self-signed certificate"},
                        Case{"expired", "localhost", "certificate has expired"},
                        Case{"wrong-name", "localhost", "hostname mismatch"},
                        Case{"wrong-name", "127.0.0.1", "IP address mismatch"}}) {
    Peer server = s_server(c.cert);
    RunResult r = echo_over_tls(server.at(c.host), {"--ca", pki().pem("ca")});
    BOOST_TEST(r.exit_code == EX_UNAVAILABLE, c.cert << ": " << r.exit_code << " " << r.err);
    BOOST_TEST(r.out.empty(), c.cert << ": " << r.out);
    BOOST_TEST(contains(r.err, "certificate of " + std::string(c.host) + " is refused"), r.err);
    BOOST_TEST(contains(r.err, c.reason), c.cert << ": " << r.err);
    // One clear line, not OpenSSL's error queue.
    BOOST_TEST(std::count(r.err.begin(), r.err.end(), '\n') == 1, r.err);
  }
}

BOOST_AUTO_TEST_CASE(the_system_store_does_not_trust_a_private_ca) {
  // Without --ca the system's CAs decide: our test CA is not among them.
  Peer server = s_server("good");
  RunResult r = echo_over_tls(server.at("localhost"), {});
  BOOST_TEST(r.exit_code == EX_UNAVAILABLE, r.err);
  BOOST_TEST(contains(r.err, "unknown CA"), r.err);
}

BOOST_AUTO_TEST_CASE(insecure_connects_to_any_certificate_and_warns) {
  Peer server = s_server("untrusted");
  RunResult r = echo_over_tls(server.at("localhost"), {"--insecure"});
  BOOST_TEST(r.exit_code == 0, r.err);
  BOOST_TEST(r.out == "level\nlevel\n");
  BOOST_TEST(contains(r.err, "--insecure: the server's certificate is NOT verified"), r.err);
}

BOOST_AUTO_TEST_CASE(mutual_tls_presents_the_client_certificate_when_given) {
  // -Verify 1: s_server requires a client certificate signed by -CAfile's CA.
  Peer server = s_server("good", {"-Verify", "1", "-CAfile", pki().pem("ca")});
  RunResult without = echo_over_tls(server.at("localhost"), {"--ca", pki().pem("ca")});
  BOOST_TEST(without.exit_code == EX_UNAVAILABLE, without.err);
  BOOST_TEST(contains(without.err, "certificate required"), without.err);
  RunResult with = echo_over_tls(
      server.at("localhost"),
      {"--ca", pki().pem("ca"), "--cert", pki().pem("client"), "--key", pki().key("client")});
  BOOST_TEST(with.exit_code == 0, with.err);
  BOOST_TEST(with.out == "level\nlevel\n");
  BOOST_TEST(contains(server.log(), "CN = client"), server.log());
}

BOOST_AUTO_TEST_CASE(tls_options_are_checked_before_connecting) {
  // Port 1 refuses: these fail as usage errors or unreadable files before trying it.
  BOOST_TEST(run_program("echo-client", {"127.0.0.1:1", "--ca", pki().pem("ca"), "--message", "x"})
                 .exit_code == EX_USAGE);
  BOOST_TEST(run_program("echo-client",
                         {"--tls", "127.0.0.1:1", "--cert", pki().pem("client"), "--message", "x"})
                 .exit_code == EX_USAGE);
  BOOST_TEST(run_program("echo-client", {"--tls", "udp:127.0.0.1:1", "--message", "x"}).exit_code ==
             EX_USAGE);
  for (const char* client : {"daytime-client", "time-client"}) {
    RunResult udp = run_program(client, {"--tls", "udp:127.0.0.1:1"});
    BOOST_TEST(udp.exit_code == EX_USAGE, client << ": " << udp.err);
    BOOST_TEST(contains(udp.err, "--tls needs a stream address"), udp.err);
  }
  BOOST_TEST(run_program("chat-client", {"127.0.0.1:1", "--insecure"}).exit_code == EX_USAGE);
  RunResult missing = run_program(
      "echo-client", {"--tls", "127.0.0.1:1", "--ca", "/nonexistent.pem", "--message", "x"});
  BOOST_TEST(missing.exit_code == EX_NOINPUT, missing.err);
  BOOST_TEST(contains(missing.err, "--ca /nonexistent.pem"), missing.err);
}

BOOST_AUTO_TEST_CASE(a_server_that_does_not_speak_tls_is_a_clear_error) {
  // Our own echo server in clear: it echoes the ClientHello, which is no ServerHello.
  ServerProcess echo("echo-server", {"--listen", "127.0.0.1:0"});
  RunResult r = echo_over_tls(echo.address(), {"--ca", pki().pem("ca")});
  BOOST_TEST(r.exit_code == EX_UNAVAILABLE, r.err);
  BOOST_TEST(contains(r.err, "TLS handshake with 127.0.0.1 failed"), r.err);
}

BOOST_AUTO_TEST_CASE(a_silent_server_ends_the_handshake_at_the_timeout) {
  // A listener that never accepts: the kernel completes TCP's handshake, TLS gets no answer.
  SilentListener listener;
  std::string target = listener.address();
  RunResult r = run_program("echo-client", {"--tls", target, "--ca", pki().pem("ca"), "--message",
                                            "x", "--timeout", "1"});
  BOOST_TEST(r.exit_code == EX_TEMPFAIL, r.err);
  BOOST_TEST(contains(r.err, "TLS handshake"), r.err);
}

// ---- file-client and cmd-client, through socat's TLS in front of our servers ----------

// socat's OPENSSL-LISTEN in front of a clear server: TLS from a peer that is not ours, with
// a client certificate required (verify=1, cafile). `-d -d` makes it say when it listens.
class TlsFrontEnd {
 public:
  explicit TlsFrontEnd(uint16_t backend)
      : port_(free_port()),
        process_({"socat", "-d", "-d",
                  "OPENSSL-LISTEN:" + std::to_string(port_) +
                      ",bind=127.0.0.1,reuseaddr,fork,cert=" + pki().pem("good") +
                      ",key=" + pki().key("good") + ",cafile=" + pki().pem("ca") + ",verify=1",
                  "TCP:127.0.0.1:" + std::to_string(backend)}) {
    BOOST_REQUIRE_MESSAGE(process_.wait_for_log("listening on"), "socat: " << process_.log());
  }
  std::string at(const std::string& host) const { return host + ":" + std::to_string(port_); }

 private:
  uint16_t port_;
  Spawned process_;
};

std::vector<std::string> client_tls_options() {
  return {"--tls",
          "--ca",
          pki().pem("ca"),
          "--cert",
          pki().pem("client"),
          "--key",
          pki().key("client")};
}

BOOST_AUTO_TEST_CASE(file_client_gets_and_puts_over_tls_with_the_right_sha256) {
  TempDir root("tls-files");
  std::string data = random_bytes(5 * 1024 * 1024 + 3, 7);
  root.write("big.bin", data);
  ServerProcess server("file-server", {"--listen", "127.0.0.1:0", "--model", "fork", "--root",
                                       root.path.string(), "--allow-upload"});
  TlsFrontEnd front(server.port());
  TempDir out("tls-files-out");
  std::vector<std::string> get{front.at("localhost"), "get", "big.bin", "-o",
                               (out.path / "big.bin").string()};
  for (const std::string& option : client_tls_options()) get.push_back(option);
  RunResult got = run_program("file-client", get);
  BOOST_TEST_REQUIRE(got.exit_code == 0, got.err);
  BOOST_TEST(sha256_text(out.read("big.bin")) == sha256_text(data));
  // put: the file is read and encrypted here (no sendfile under TLS).
  out.write("up.bin", random_bytes(3 * 1024 * 1024 + 1, 8));
  std::vector<std::string> put{front.at("localhost"), "put", (out.path / "up.bin").string(),
                               "up.bin"};
  for (const std::string& option : client_tls_options()) put.push_back(option);
  RunResult sent = run_program("file-client", put);
  BOOST_TEST_REQUIRE(sent.exit_code == 0, sent.err);
  BOOST_TEST(sha256_text(root.read("up.bin")) == sha256_text(out.read("up.bin")));
  // Without a client certificate socat refuses the handshake: nothing is listed.
  RunResult refused =
      run_program("file-client", {front.at("localhost"), "list", "--tls", "--ca", pki().pem("ca")});
  BOOST_TEST(refused.exit_code == EX_UNAVAILABLE, refused.err);
  BOOST_TEST(refused.out.empty(), refused.out);
}

BOOST_AUTO_TEST_CASE(cmd_client_runs_a_command_over_mutual_tls) {
  std::vector<std::string> args{"--listen", "127.0.0.1:0",  "--model",
                                "fork",     "--allow-args", "echo .* ..."};
  if (::geteuid() == 0) args.insert(args.end(), {"--user", "nobody"});
  ServerProcess server("cmd-server", args);
  TlsFrontEnd front(server.port());
  std::vector<std::string> run{front.at("127.0.0.1")};
  for (const std::string& option : client_tls_options()) run.push_back(option);
  for (const char* word : {"--", "echo", "over", "tls"}) run.push_back(word);
  RunResult r = run_program("cmd-client", run);
  BOOST_TEST(r.exit_code == 0, r.err);
  BOOST_TEST(r.out == "over tls\n");
}

// ---- our clients and our servers, both over TLS, under a process and an event-loop model ----

namespace bdata = boost::unit_test::data;

std::vector<std::string> server_tls_options(bool mutual) {
  std::vector<std::string> options{"--tls-cert", pki().pem("good"), "--tls-key", pki().key("good")};
  if (mutual) options.insert(options.end(), {"--tls-client-ca", pki().pem("ca")});
  return options;
}

std::vector<std::string> with(std::vector<std::string> args, const std::vector<std::string>& more) {
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

BOOST_DATA_TEST_CASE(echo_file_and_cmd_clients_to_our_tls_servers, bdata::make(all_models()),
                     model) {
  std::vector<std::string> listen{"--listen", "127.0.0.1:0", "--model", model};
  ServerProcess echo("echo-server", with(listen, server_tls_options(false)));
  RunResult echoed =
      echo_over_tls("localhost:" + std::to_string(echo.port()), {"--ca", pki().pem("ca")});
  BOOST_TEST(echoed.exit_code == 0, model << ": " << echoed.err);
  BOOST_TEST(echoed.out == "level\nlevel\n", model);

  TempDir root("tls-files");
  std::string data = random_bytes(4 * 1024 * 1024 + 5, 9);
  root.write("big.bin", data);
  ServerProcess files("file-server",
                      with(with(listen, {"--root", root.path.string()}), server_tls_options(true)));
  TempDir out("tls-files-out");
  RunResult got =
      run_program("file-client", with({"127.0.0.1:" + std::to_string(files.port()), "get",
                                       "big.bin", "-o", (out.path / "big.bin").string()},
                                      client_tls_options()));
  BOOST_TEST(got.exit_code == 0, model << ": " << got.err);
  BOOST_TEST(sha256_text(out.read("big.bin")) == sha256_text(data), model);

  std::vector<std::string> cmd_args = with(listen, {"--allow-args", "echo .* ..."});
  if (::geteuid() == 0) cmd_args.insert(cmd_args.end(), {"--user", "nobody"});
  ServerProcess cmd("cmd-server", with(cmd_args, server_tls_options(true)));
  RunResult ran = run_program(
      "cmd-client", with(with({"localhost:" + std::to_string(cmd.port())}, client_tls_options()),
                         {"--", "echo", "hello"}));
  BOOST_TEST(ran.exit_code == 0, model << ": " << ran.err);
  BOOST_TEST(ran.out == "hello\n", model);
}

// Two members over TLS: bob stays in the room (his stdin a pipe held open) and hears what ann
// says; the end of his input sends /quit, and he leaves with the server's goodbye.
void two_members_talk(const std::string& room, const std::vector<std::string>& trust,
                      const std::string& model) {
  Pipe bob_input = make_pipe(false);
  Spawned bob(with({bin_path("chat-client"), room, "--nick", "bob"}, trust), {},
              bob_input.read_end.get());
  bob_input.read_end.reset();
  BOOST_TEST_REQUIRE(bob.wait_for_log("*** you are now bob"), model << ": " << bob.log());
  RunResult ann = run_program("chat-client", with({room, "--nick", "ann"}, trust),
                              "hello over tls\n/quit\n");
  BOOST_TEST(ann.exit_code == 0, model << ": " << ann.err);
  BOOST_TEST(contains(ann.out, "*** bye"), model << ": " << ann.out);
  BOOST_TEST(bob.wait_for_log("[ann] hello over tls"), model << ": " << bob.log());
  bob_input.write_end.reset();
  BOOST_TEST(bob.wait_exit() == 0, model << ": " << bob.log());
  BOOST_TEST(contains(bob.log(), "*** bye"), model << ": " << bob.log());
}

BOOST_DATA_TEST_CASE(chat_daytime_time_and_http_clients_to_our_tls_servers,
                     bdata::make(all_models()), model) {
  std::vector<std::string> listen{"--listen", "127.0.0.1:0", "--model", model};
  std::vector<std::string> trust{"--tls", "--ca", pki().pem("ca")};
  ServerProcess chat("chat-server", with(listen, server_tls_options(false)));
  std::string room = "localhost:" + std::to_string(chat.port());
  if (model == std::string("iterative")) {  // one member at a time: nobody else to hear ann
    RunResult alone =
        run_program("chat-client", with({room, "--nick", "ann"}, trust), "hi\n/quit\n");
    BOOST_TEST(alone.exit_code == 0, alone.err);
    BOOST_TEST(contains(alone.out, "*** bye"), alone.out);
  } else {
    two_members_talk(room, trust, model);
  }

  // daytime and time: the answer ends with the server's close_notify.
  ServerProcess daytime("daytime-server", with(listen, server_tls_options(false)));
  RunResult date = run_program("daytime-client", with({daytime.address()}, trust));
  BOOST_TEST(date.exit_code == 0, model << ": " << date.err);
  BOOST_TEST(std::regex_search(date.out, std::regex(R"(^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\n$)")),
             model << ": " << date.out);
  ServerProcess time_server("time-server", with(listen, server_tls_options(false)));
  RunResult raw = run_program("time-client", with({time_server.address(), "--raw"}, trust));
  BOOST_TEST(raw.exit_code == 0, model << ": " << raw.err);
  uint64_t since_1900 = std::strtoull(raw.out.c_str(), nullptr, 10);
  uint64_t now_since_1900 = static_cast<uint64_t>(::time(nullptr)) + 2208988800ULL;
  BOOST_TEST(since_1900 + 60 > now_since_1900, model << ": " << raw.out);
  BOOST_TEST(since_1900 < now_since_1900 + 60, model << ": " << raw.out);

  // https: a 1 MiB file from http-server, byte for byte.
  TempDir site("tls-site");
  std::string page = random_bytes(1024 * 1024 + 3, 5);
  site.write("page.bin", page);
  ServerProcess http("http-server",
                     with(with(listen, {"--root", site.path.string()}), server_tls_options(false)));
  TempDir saved("tls-site-out");
  RunResult got = run_program(
      "http-client", {"--ca", pki().pem("ca"), "-o", (saved.path / "page.bin").string(),
                      "https://localhost:" + std::to_string(http.port()) + "/page.bin"});
  BOOST_TEST(got.exit_code == 0, model << ": " << got.err);
  BOOST_TEST((saved.read("page.bin") == page), model);
}

// ---- https ----------------------------------------------------------------------------

Peer https_peer(const TempDir& served, const std::string& cert = "good") {
  return Peer({kPython, "-u", source_dir() + "/tests/integration/http_peer.py",
               served.path.string(), "127.0.0.1", "--tls", pki().pem(cert), pki().key(cert)});
}

Peer http_peer(const TempDir& served) {
  return Peer({kPython, "-u", source_dir() + "/tests/integration/http_peer.py",
               served.path.string(), "127.0.0.1"});
}

BOOST_AUTO_TEST_CASE(https_get_is_byte_for_byte) {
  TempDir served("https-served");
  std::string data = random_bytes(3 * 1024 * 1024 + 17, 11);
  served.write("blob", data);
  Peer peer = https_peer(served);
  std::string base = "https://localhost:" + std::to_string(peer.port());
  // Content-Length (Python's file route) and the chunked coding, to stdout and to a file.
  RunResult chunked = run_program("http-client", {"--ca", pki().pem("ca"), base + "/chunked/blob"});
  BOOST_TEST(chunked.exit_code == 0, chunked.err);
  BOOST_TEST(chunked.out.size() == data.size());
  BOOST_TEST(sha256_text(chunked.out) == sha256_text(data));
  TempDir saved("https-saved");
  std::string out = (saved.path / "blob").string();
  RunResult to_file =
      run_program("http-client", {"--ca", pki().pem("ca"), "-o", out, base + "/see/308"});
  BOOST_TEST(to_file.exit_code == 0, to_file.err);
  BOOST_TEST(contains(file_text(out), "see /echo"), file_text(out));
  // The same server refused by name: the certificate is checked against the URL's host.
  Peer wrong = https_peer(served, "wrong-name");
  RunResult refused = run_program(
      "http-client", {"--ca", pki().pem("ca"),
                      "https://localhost:" + std::to_string(wrong.port()) + "/chunked/blob"});
  BOOST_TEST(refused.exit_code == EX_UNAVAILABLE, refused.err);
  BOOST_TEST(contains(refused.err, "hostname mismatch"), refused.err);
  BOOST_TEST(refused.out.empty());
}

BOOST_AUTO_TEST_CASE(https_body_ended_by_a_close_without_close_notify_is_refused) {
  // Python's ssl closes the socket without close_notify: for a body that only the close
  // ends, that close could be an attacker's, so the body may be cut short.
  TempDir served("https-served");
  served.write("small", "sixteen bytes..\n");
  Peer peer = https_peer(served);
  RunResult r = run_program("http-client",
                            {"--ca", pki().pem("ca"),
                             "https://localhost:" + std::to_string(peer.port()) + "/close/small"});
  BOOST_TEST(r.exit_code == EX_PROTOCOL, r.err);
  BOOST_TEST(contains(r.err, "without close_notify"), r.err);
}

// daytime's answer ends at the close. Over TLS only close_notify says it is whole: a bare TCP
// close may be an attacker's, cutting the answer short. Python's ssl closes without it.
BOOST_AUTO_TEST_CASE(a_daytime_answer_ended_without_close_notify_is_refused) {
  const char* script =
      "import socket, ssl, sys\n"
      "ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n"
      "ctx.load_cert_chain(sys.argv[1], sys.argv[2])\n"
      "s = socket.socket()\n"
      "s.bind(('127.0.0.1', 0))\n"
      "s.listen()\n"
      "print('port', s.getsockname()[1], flush=True)\n"
      "c, _ = s.accept()\n"
      "t = ctx.wrap_socket(c, server_side=True)\n"
      "t.sendall(b'Wed Dec  2 09:10:17 2026\\r\\n')\n"
      "t.close()\n";
  Peer peer({kPython, "-c", script, pki().pem("good"), pki().key("good")});
  RunResult r = run_program("daytime-client", {"--tls", "--ca", pki().pem("ca"),
                                               "localhost:" + std::to_string(peer.port())});
  BOOST_TEST(r.exit_code == EX_PROTOCOL, r.err);
  BOOST_TEST(contains(r.err, "ended without close_notify"), r.err);
  BOOST_TEST(r.out.empty(), r.out);
}

BOOST_AUTO_TEST_CASE(redirects_go_between_http_and_https) {
  TempDir served("https-served");
  Peer secure = https_peer(served);
  Peer plain = http_peer(served);
  std::string to_https = "http://127.0.0.1:" + std::to_string(plain.port()) +
                         "/goto?https://localhost:" + std::to_string(secure.port()) + "/r/0";
  RunResult up = run_program("http-client", {"-L", "--ca", pki().pem("ca"), to_https});
  BOOST_TEST(up.exit_code == 0, up.err);
  BOOST_TEST(up.out == "arrived");
  std::string to_http = "https://localhost:" + std::to_string(secure.port()) +
                        "/goto?http://127.0.0.1:" + std::to_string(plain.port()) + "/r/2";
  RunResult down = run_program("http-client", {"-L", "--ca", pki().pem("ca"), to_http});
  BOOST_TEST(down.exit_code == 0, down.err);
  BOOST_TEST(down.out == "arrived");
}

// ---- mail ----------------------------------------------------------------------------

class SmtpPeer {
 public:
  explicit SmtpPeer(std::vector<std::string> options) : peer_(command(dir_, options)) {}
  std::string at(const std::string& host) const { return peer_.at(host); }
  bool received(int n) const { return std::filesystem::exists(message(n, ".json")); }
  std::string envelope(int n) const { return file_text(message(n, ".json")); }
  std::string raw(int n) const { return file_text(message(n, ".eml")); }
  std::string log() const { return peer_.log(); }

 private:
  std::string message(int n, const char* extension) const {
    return (dir_.path / "messages" / (std::to_string(n) + extension)).string();
  }
  static std::vector<std::string> command(const TempDir& dir,
                                          const std::vector<std::string>& options) {
    std::vector<std::string> argv{kPython, "-W", "ignore",
                                  source_dir() + "/tests/peers/smtp_sink.py",
                                  (dir.path / "messages").string()};
    argv.insert(argv.end(), options.begin(), options.end());
    return argv;
  }
  TempDir dir_{"smtp-tls"};
  Peer peer_;
};

RunResult send_mail(const std::string& server, std::vector<std::string> options,
                    std::vector<std::string> env = {}) {
  std::vector<std::string> args{"--server",      server,      "--from",   "a@example.org", "--to",
                                "b@example.org", "--subject", "over TLS", "--timeout",     "20"};
  args.insert(args.end(), options.begin(), options.end());
  return run_program("mail-client", args, "sent over TLS\n", 20000ms, std::move(env));
}

BOOST_AUTO_TEST_CASE(mail_over_starttls_with_auth_arrives) {
  // The sink requires STARTTLS first and takes AUTH only over TLS.
  SmtpPeer sink({"--starttls", pki().pem("good"), pki().key("good"), "--auth", "alice:s3cret",
                 "--log-commands"});
  RunResult r =
      send_mail(sink.at("localhost"), {"--starttls", "--ca", pki().pem("ca"), "--user", "alice"},
                {"SMTP_PASSWORD=s3cret"});
  BOOST_TEST_REQUIRE(r.exit_code == 0, r.err << sink.log());
  BOOST_TEST(eventually([&] { return sink.received(1); }));
  BOOST_TEST(contains(sink.envelope(1), R"("login": "alice")"), sink.envelope(1));
  BOOST_TEST(contains(sink.raw(1), "sent over TLS"), sink.raw(1));
  // EHLO, STARTTLS, then EHLO again over TLS, as RFC 3207 says.
  std::string log = sink.log();
  size_t starttls = log.find(">> b'STARTTLS'");
  BOOST_TEST_REQUIRE(starttls != std::string::npos, log);
  BOOST_TEST(log.find(">> b'EHLO") < starttls, log);
  BOOST_TEST(log.find(">> b'EHLO", starttls) != std::string::npos, log);
}

BOOST_AUTO_TEST_CASE(mail_over_smtps_arrives_and_a_wrong_certificate_sends_nothing) {
  SmtpPeer sink({"--smtps", pki().pem("good"), pki().key("good")});
  RunResult r = send_mail(sink.at("127.0.0.1"), {"--smtps", "--ca", pki().pem("ca")});
  BOOST_TEST_REQUIRE(r.exit_code == 0, r.err << sink.log());
  BOOST_TEST(eventually([&] { return sink.received(1); }));
  BOOST_TEST(contains(sink.raw(1), "sent over TLS"));
  SmtpPeer expired({"--smtps", pki().pem("expired"), pki().key("expired")});
  RunResult refused = send_mail(expired.at("127.0.0.1"), {"--smtps", "--ca", pki().pem("ca")});
  BOOST_TEST(refused.exit_code == EX_UNAVAILABLE, refused.err);
  BOOST_TEST(contains(refused.err, "certificate has expired"), refused.err);
  BOOST_TEST(!expired.received(1));
}

BOOST_AUTO_TEST_CASE(mail_client_keeps_its_password_when_starttls_is_not_offered) {
  // A server offering AUTH but no STARTTLS, as a downgrading attacker would show it.
  SmtpPeer sink({"--auth", "alice:s3cret", "--log-commands"});
  RunResult r =
      send_mail(sink.at("127.0.0.1"), {"--starttls", "--ca", pki().pem("ca"), "--user", "alice"},
                {"SMTP_PASSWORD=s3cret"});
  BOOST_TEST(r.exit_code == EX_UNAVAILABLE, r.err);
  BOOST_TEST(contains(r.err, "does not offer STARTTLS"), r.err);
  BOOST_TEST(contains(r.err, "no password"), r.err);
  std::string log;
  BOOST_TEST(eventually([&] { return contains(log = sink.log(), ">> b'QUIT'"); }), sink.log());
  BOOST_TEST(contains(log, ">> b'EHLO"), log);
  BOOST_TEST(!contains(log, ">> b'AUTH"), log);
  BOOST_TEST(!contains(log, ">> b'MAIL"), log);
  BOOST_TEST(!sink.received(1));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace tls_client_test
