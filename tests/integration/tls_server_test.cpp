// TLS on the server side (docs/tls.md), against real peers: openssl s_client, curl and
// Python's ssl module, with certificates made by `openssl req` (tls_certs.hpp).
#include <signal.h>
#include <sysexits.h>
#include <unistd.h>

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "error.hpp"
#include "harness.hpp"
#include "peers.hpp"
#include "tls_certs.hpp"

namespace bdata = boost::unit_test::data;
using namespace sockserv;
using namespace sockserv::test;

namespace {

const auto kModels = bdata::make(all_models());
const auto kSlowModels = bdata::make(one_model_per_io_context());

std::vector<std::string> tls_args(const std::string& model, const CertFiles& server,
                                  std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"--listen",   "127.0.0.1:0", "--model",   model,
                                "--tls-cert", server.cert,   "--tls-key", server.key};
  std::vector<std::string> room = room_for(model, 4);
  args.insert(args.end(), room.begin(), room.end());
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

// An `openssl s_client` session held open: what the test writes goes to its stdin, what it
// prints (the server's bytes, and its own notes on stderr) into a log the test searches.
class SClient {
 public:
  SClient(uint16_t port, const std::string& ca, std::vector<std::string> extra = {})
      : input_(make_pipe(false)),
        process_(argv(port, ca, std::move(extra)), {}, input_.read_end.get()) {
    input_.read_end.reset();
  }
  void send(const std::string& text) { test::write_all(input_.write_end.get(), text); }
  bool saw(const std::string& text, Millis timeout = 10000ms) const {
    return process_.wait_for_log(text, timeout);
  }
  std::string log() const { return process_.log(); }
  /// Closes its stdin: s_client sends close_notify and exits.
  int finish() {
    input_.write_end.reset();
    return process_.wait_exit(10000ms);
  }

 private:
  static std::vector<std::string> argv(uint16_t port, const std::string& ca,
                                       std::vector<std::string> extra) {
    // -quiet: only the server's bytes on stdout; -no_ign_eof: end of stdin ends the session.
    std::vector<std::string> args{
        "/usr/bin/openssl",     "s_client",  "-connect",   "127.0.0.1:" + std::to_string(port),
        "-servername",          "localhost", "-CAfile",    ca,
        "-verify_return_error", "-quiet",    "-no_ign_eof"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
  Pipe input_;
  Spawned process_;
};

// The subject of the certificate a new connection is shown (s_client's "subject=" line).
std::string served_subject(uint16_t port, const std::string& ca) {
  RunResult r = run_program("/usr/bin/openssl",
                            {"s_client", "-connect", "127.0.0.1:" + std::to_string(port),
                             "-servername", "localhost", "-CAfile", ca, "-verify_return_error"},
                            "", 20000ms);
  size_t at = r.out.find("subject=");
  return at == std::string::npos ? "none: " + r.err : r.out.substr(at, r.out.find('\n', at) - at);
}

RunResult curl(std::vector<std::string> args) {
  args.insert(args.begin(), {"-sS", "--max-time", "20"});
  return run_program("/usr/bin/curl", args);
}

// Resident memory of `pid` in KiB (VmRSS in /proc/PID/status).
size_t rss_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoul(line.substr(6));
  }
  return 0;
}

RunResult handshakes(uint16_t port, const std::string& ca, size_t count) {
  return run_program("/usr/bin/python3",
                     {"-u", source_dir() + "/tests/integration/tls_handshakes.py",
                      std::to_string(port), ca, std::to_string(count)},
                     "", 120000ms);
}

// A file-server request without a body (docs/protocols.md: 4-byte length, JSON header).
std::string request_frame(const std::string& header) {
  std::string frame(4, '\0');
  frame[3] = static_cast<char>(header.size());
  return frame + header;
}
std::string list_frame() {
  return request_frame(R"({"dir":".","op":"list"})");
}

// Reads until end of file within `timeout`; false when the server kept the connection open.
bool closed_by_server(int fd, Millis timeout) {
  Deadline deadline = Deadline::after(timeout);
  std::byte buffer[4096];
  try {
    while (test::read_some(fd, buffer, deadline) > 0) {
    }
    return true;
  } catch (const TimeoutError&) {
    return false;
  } catch (const std::system_error&) {
    return true;  // reset: closed too
  }
}

// One CA and its certificates for the whole suite (openssl takes a while on a loaded
// machine); the reload test makes its own, since it rewrites them.
struct SuiteCerts {
  TestPki pki;
  CertFiles server = pki.server("server");
  CertFiles alice = pki.client("alice", "alice");
  CertFiles bob = pki.client("bob", "bob");
  CertFiles stranger = pki.self_signed("stranger");
};
const SuiteCerts& certs() {
  static const SuiteCerts made;
  return made;
}

// What a process has mapped: /proc/PID/maps, one region a line, the file's path last.
std::string maps(pid_t pid) {
  return file_text("/proc/" + std::to_string(pid) + "/maps");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(tls_server)

BOOST_DATA_TEST_CASE(echo_by_s_client_under_every_model, kModels, model) {
  const TestPki& pki = certs().pki;
  const CertFiles& server = certs().server;
  ServerProcess echo("echo-server", tls_args(model, server));
  BOOST_TEST(echo.log().find("TLS)") != std::string::npos);  // "listening on ... TLS)"
  SClient client(echo.port(), pki.ca_cert());
  client.send("hello over TLS\n");
  BOOST_TEST(client.saw("hello over TLS"), client.log());
  // A line longer than a TLS record (16 KiB) and than the socket buffers' first gulp.
  std::string big = std::string(100'000, 'x') + "end of the big line\n";
  client.send(big);
  BOOST_TEST(client.saw(big.substr(0, big.size() - 1), 20000ms));
  BOOST_TEST(client.finish() == 0, client.log());
  BOOST_TEST(echo.log().find("error") == std::string::npos, echo.log());
}

// OpenSSL is loaded only when a server is asked for TLS (common/openssl.hpp): a fork server
// without --tls must not copy its mappings into every child it forks.
BOOST_AUTO_TEST_CASE(openssl_is_in_memory_only_with_tls) {
  ServerProcess plain("echo-server", {"--listen", "127.0.0.1:0", "--model", "fork"});
  BOOST_TEST(exchange(plain.port(), "plain") == "plain");
  BOOST_TEST(maps(plain.pid()).find("/libssl.so") == std::string::npos, maps(plain.pid()));
  BOOST_TEST(maps(plain.pid()).find("/libcrypto.so") == std::string::npos, maps(plain.pid()));
  ServerProcess tls("echo-server", tls_args("fork", certs().server));
  BOOST_TEST(maps(tls.pid()).find("/libssl.so") != std::string::npos, maps(tls.pid()));
}

// A server carries the C++ runtime and Boost inside it and loads OpenSSL only for --tls:
// without it, it maps libc and the dynamic linker alone. Every library mapped is paid for by
// each fork() and each start under inetd (libm, needed for one std::llround, cost 5 mappings).
BOOST_AUTO_TEST_CASE(a_plain_server_maps_no_library_but_libc) {
  if (kSanitizerBuild) return;  // there the C++ runtime and the sanitizer's are shared libraries
  ServerProcess plain("echo-server", {"--listen", "127.0.0.1:0", "--model", "fork"});
  BOOST_TEST(exchange(plain.port(), "plain") == "plain");
  std::istringstream in(maps(plain.pid()));
  std::set<std::string> libraries;  // file names of the shared objects mapped
  for (std::string line; std::getline(in, line);) {
    size_t slash = line.find('/');
    if (slash != std::string::npos && line.find(".so", slash) != std::string::npos)
      libraries.insert(line.substr(line.rfind('/') + 1));
  }
  BOOST_TEST(libraries.count("libc.so.6") == 1);  // the maps were read
  for (const std::string& library : libraries)
    BOOST_TEST((library == "libc.so.6" || library.starts_with("ld-linux")), library);
}

// Where OpenSSL cannot be loaded, --tls fails at start with the library's name and exit 69.
BOOST_AUTO_TEST_CASE(a_missing_openssl_is_named_at_start) {
  TempDir fake("no-openssl");
  fake.write("libssl.so.3", "not a library");  // found first through LD_LIBRARY_PATH
  RunResult r = run_program(bin_path("echo-server"), tls_args("fork", certs().server), "", 10000ms,
                            {"LD_LIBRARY_PATH=" + fake.path.string()});
  BOOST_TEST(r.exit_code == EX_UNAVAILABLE, r.err);
  BOOST_TEST(r.err.find("TLS needs OpenSSL 3 (libssl.so.3") != std::string::npos, r.err);
}

BOOST_DATA_TEST_CASE(https_get_by_curl_under_every_model, kModels, model) {
  const TestPki& pki = certs().pki;
  const CertFiles& server = certs().server;
  TempDir root("tls-www");
  std::string body = random_bytes(1'500'000, 7);
  root.write("data.bin", body);
  ServerProcess http("http-server", tls_args(model, server, {"--root", root.path.string()}));
  TempDir out("tls-out");
  std::string url = "https://localhost:" + std::to_string(http.port());
  std::string resolve = "localhost:" + std::to_string(http.port()) + ":127.0.0.1";
  // Two URLs: the second reuses the kept-alive TLS connection (curl -v says so).
  RunResult got =
      curl({"-v", "--cacert", pki.ca_cert(), "--resolve", resolve, "-o", (out.path / "a").string(),
            url + "/data.bin", "-o", (out.path / "b").string(), url + "/data.bin"});
  BOOST_TEST(got.exit_code == 0, got.err);
  BOOST_TEST((out.read("a") == body));
  BOOST_TEST((out.read("b") == body));
  BOOST_TEST(got.err.find("Re-using existing connection") != std::string::npos, got.err);
  // A range goes through the same corked head + file path.
  RunResult part =
      curl({"--cacert", pki.ca_cert(), "--resolve", resolve, "-r", "1000-1999", url + "/data.bin"});
  BOOST_TEST((part.out == body.substr(1000, 1000)));
}

// chat waits on its client and the hub at once (wait_readable, try_read_line): over TLS,
// bytes OpenSSL already holds must count as readable, and a line from one member must reach
// the other through every kind of hub.
BOOST_DATA_TEST_CASE(chat_between_two_s_clients, bdata::make({"thread", "fork", "epoll"}), model) {
  const TestPki& pki = certs().pki;
  ServerProcess chat("chat-server", tls_args(model, certs().server));
  SClient ann(chat.port(), pki.ca_cert());
  ann.send("/nick ann\n");
  BOOST_TEST_REQUIRE(ann.saw("you are now ann"), ann.log());
  SClient bob(chat.port(), pki.ca_cert());
  bob.send("/nick bob\n");
  BOOST_TEST_REQUIRE(bob.saw("you are now bob"), bob.log());
  // Two lines in one write: one TLS record, two messages.
  ann.send("hello bob\nare you there?\n");
  BOOST_TEST(bob.saw("[ann] are you there?"), bob.log());
  BOOST_TEST(bob.log().find("[ann] hello bob") != std::string::npos);
  bob.send("hi ann\n");
  BOOST_TEST(ann.saw("[bob] hi ann"), ann.log());
  BOOST_TEST(bob.finish() == 0);
  BOOST_TEST(ann.saw("bob left"), ann.log());
}

BOOST_DATA_TEST_CASE(mutual_tls_needs_a_client_certificate, kSlowModels, model) {
  const TestPki& pki = certs().pki;
  const CertFiles& server = certs().server;
  const CertFiles& alice = certs().alice;
  ServerProcess echo("echo-server", tls_args(model, server, {"--tls-client-ca", pki.ca_cert()}));
  {
    SClient anonymous(echo.port(), pki.ca_cert());
    anonymous.send("no certificate\n");
    BOOST_TEST(echo.wait_for_log("peer did not return a certificate"), echo.log());
    BOOST_TEST(anonymous.finish() != 0);  // the server's alert ends s_client with an error
    BOOST_TEST(anonymous.log().find("no certificate\n") == std::string::npos);
  }
  SClient with_cert(echo.port(), pki.ca_cert(), {"-cert", alice.cert, "-key", alice.key});
  with_cert.send("with a certificate\n");
  BOOST_TEST(with_cert.saw("with a certificate"), with_cert.log());
  BOOST_TEST(echo.wait_for_log("subject=\"O=sockserv tests,CN=alice\""), echo.log());
  BOOST_TEST(with_cert.finish() == 0);  // iterative serves one client at a time
  // A certificate from a CA the server does not trust is refused too.
  const CertFiles& stranger = certs().stranger;
  SClient untrusted(echo.port(), pki.ca_cert(), {"-cert", stranger.cert, "-key", stranger.key});
  untrusted.send("untrusted\n");
  BOOST_TEST(echo.wait_for_log("certificate verify failed"), echo.log());
  BOOST_TEST(untrusted.finish() != 0);
  BOOST_TEST(untrusted.log().find("untrusted\n") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(allow_subject_refuses_another_subject) {
  const TestPki& pki = certs().pki;
  const CertFiles& server = certs().server;
  const CertFiles& alice = certs().alice;
  const CertFiles& bob = certs().bob;
  TempDir root("tls-files");
  root.write("only-for-alice.txt", "a secret for alice only\n");
  ServerProcess files("file-server",
                      tls_args("prethread", server,
                               {"--root", root.path.string(), "--tls-client-ca", pki.ca_cert(),
                                "--allow-subject", "O=sockserv tests,CN=alice"}));
  SClient refused(files.port(), pki.ca_cert(), {"-cert", bob.cert, "-key", bob.key});
  refused.send(list_frame());
  BOOST_TEST(files.wait_for_log("subject=\"O=sockserv tests,CN=bob\""), files.log());
  BOOST_TEST(files.wait_for_log("not in --allow-subject"), files.log());
  refused.finish();  // the server closed: s_client ends, without a reply
  BOOST_TEST(refused.log().find("only-for-alice") == std::string::npos);
  SClient allowed(files.port(), pki.ca_cert(), {"-cert", alice.cert, "-key", alice.key});
  allowed.send(list_frame());
  BOOST_TEST(allowed.saw("only-for-alice.txt"), allowed.log());
  // A get: the file goes out through send_file, over TLS by pread + SSL_write.
  allowed.send(request_frame(R"({"name":"only-for-alice.txt","op":"get"})"));
  BOOST_TEST(allowed.saw("a secret for alice only"), allowed.log());
  // Without mutual TLS the option would let everyone in: refused as a usage error.
  RunResult usage = run_program(
      "file-server", {"--root", root.path.string(), "--tls-cert", server.cert, "--tls-key",
                      server.key, "--allow-subject", "CN=alice", "--listen", "127.0.0.1:0"});
  BOOST_TEST(usage.exit_code == 64);
  BOOST_TEST(usage.err.find("--allow-subject needs --tls-client-ca") != std::string::npos);
}

BOOST_DATA_TEST_CASE(stalled_handshake_is_closed_at_its_deadline, kSlowModels, model) {
  const TestPki& pki = certs().pki;
  const CertFiles& server = certs().server;
  ServerProcess echo("echo-server", tls_args(model, server, {"--tls-handshake-timeout", "1"}));
  UniqueFd silent = connect_tcp(echo.port());
  BOOST_TEST(closed_by_server(silent.get(), 15000ms));  // generous: 1 s is the deadline
  BOOST_TEST(echo.wait_for_log("TLS handshake not complete 1 s after it began"), echo.log());
  SClient next(echo.port(), pki.ca_cert());
  next.send("still serving\n");
  BOOST_TEST(next.saw("still serving"), next.log());
}

BOOST_DATA_TEST_CASE(plain_text_client_is_closed_with_a_log_line, kSlowModels, model) {
  const TestPki& pki = certs().pki;
  const CertFiles& server = certs().server;
  ServerProcess http("http-server", tls_args(model, server));
  UniqueFd plain = connect_tcp(http.port());
  test::write_all(plain.get(), "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
  BOOST_TEST(closed_by_server(plain.get(), 15000ms));
  BOOST_TEST(http.wait_for_log("protocol error: TLS handshake: http request"), http.log());
  UniqueFd garbage = connect_tcp(http.port());
  test::write_all(garbage.get(), random_bytes(300, 3));
  BOOST_TEST(closed_by_server(garbage.get(), 15000ms));
  RunResult ok = curl({"--cacert", pki.ca_cert(), "--resolve",
                       "localhost:" + std::to_string(http.port()) + ":127.0.0.1",
                       "https://localhost:" + std::to_string(http.port()) + "/"});
  BOOST_TEST(ok.exit_code == 0, ok.err);
}

BOOST_DATA_TEST_CASE(a_thousand_handshakes_leak_no_descriptor_nor_memory,
                     bdata::make({"prethread", "epoll"}), model) {
  const TestPki& pki = certs().pki;
  const CertFiles& server = certs().server;
  ServerProcess echo("echo-server", tls_args(model, server));
  // Warm up: the threads' malloc arenas and OpenSSL's tables settle first.
  RunResult warm = handshakes(echo.port(), pki.ca_cert(), 200);
  BOOST_TEST_REQUIRE(warm.exit_code == 0, warm.err);
  size_t fds_before = fd_count(echo.pid());
  size_t rss_before = rss_kib(echo.pid());
  RunResult run = handshakes(echo.port(), pki.ca_cert(), 1000);
  BOOST_TEST_REQUIRE(run.exit_code == 0, run.err);
  BOOST_TEST(run.out.find("handshakes: 1000") != std::string::npos);
  BOOST_TEST(eventually([&] { return fd_count(echo.pid()) == fds_before; }, 10000ms),
             fd_count(echo.pid()) << " descriptors, " << fds_before << " before");
  // A leaked SSL object with its session costs several KiB: 1,000 of them would show.
  size_t rss_after = rss_kib(echo.pid());
  if (kSanitizerBuild) {
    BOOST_TEST_MESSAGE("RSS " << rss_before << " KiB -> " << rss_after
                              << " KiB (not checked under a sanitizer)");
  } else {
    BOOST_TEST(rss_after < rss_before + 2 * 1024, rss_before << " KiB -> " << rss_after << " KiB");
  }
}

BOOST_DATA_TEST_CASE(sighup_reloads_the_certificate_without_dropping_connections,
                     bdata::make({"prefork", "fork", "epoll"}), model) {
  TestPki pki;
  CertFiles first = pki.server("first", "first.localhost");
  CertFiles second = pki.server("second", "second.localhost");
  CertFiles served = pki.server("served", "first.localhost");
  std::filesystem::copy_file(first.cert, served.cert,
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(first.key, served.key,
                             std::filesystem::copy_options::overwrite_existing);
  ServerProcess echo("echo-server", tls_args(model, served));
  SClient old(echo.port(), pki.ca_cert());
  old.send("before the reload\n");
  BOOST_TEST(old.saw("before the reload"), old.log());
  BOOST_TEST(served_subject(echo.port(), pki.ca_cert()) == "subject=CN = first.localhost");

  // A broken certificate: the old one stays, the log says why.
  std::ofstream(served.cert) << "not a certificate\n";
  ::kill(echo.pid(), SIGHUP);
  BOOST_TEST(echo.wait_for_log("still serving the certificate loaded before"), echo.log());
  BOOST_TEST(served_subject(echo.port(), pki.ca_cert()) == "subject=CN = first.localhost");

  std::filesystem::copy_file(second.cert, served.cert,
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(second.key, served.key,
                             std::filesystem::copy_options::overwrite_existing);
  ::kill(echo.pid(), SIGHUP);
  BOOST_TEST(echo.wait_for_log("SIGHUP: TLS: reloaded"), echo.log());
  BOOST_TEST(served_subject(echo.port(), pki.ca_cert()) == "subject=CN = second.localhost");
  old.send("after the reload\n");
  BOOST_TEST(old.saw("after the reload"), old.log());
  BOOST_TEST(old.finish() == 0);
}

// TLS 1.1 is refused; a session ticket from one connection resumes the next, though under
// fork and prefork another process serves it (they inherit the same ticket keys), with no
// session cache in the server.
BOOST_DATA_TEST_CASE(old_protocols_refused_and_tickets_resume_across_processes,
                     bdata::make({"fork", "prefork", "epoll"}), model) {
  const TestPki& pki = certs().pki;
  ServerProcess echo("echo-server", tls_args(model, certs().server));
  std::string address = "127.0.0.1:" + std::to_string(echo.port());
  // SECLEVEL=0 lets the client offer TLS 1.1 at all: the refusal must be the server's.
  RunResult old =
      run_program("/usr/bin/openssl", {"s_client", "-connect", address, "-tls1_1", "-cipher",
                                       "DEFAULT@SECLEVEL=0", "-CAfile", pki.ca_cert()});
  BOOST_TEST(old.exit_code != 0);
  BOOST_TEST(echo.wait_for_log("TLS handshake: unsupported protocol"), echo.log());
  TempDir sessions("tls-sessions");
  for (const char* version : {"-tls1_2", "-tls1_3"}) {
    std::string file = (sessions.path / (std::string(version) + ".pem")).string();
    {
      // Held open until the ticket has come (TLS 1.3 sends it after the handshake): s_client
      // writes -sess_out when it arrives.
      SClient first(echo.port(), pki.ca_cert(), {version, "-sess_out", file});
      BOOST_TEST(eventually([&] { return std::filesystem::exists(file); }, 10000ms), first.log());
      first.finish();
    }
    for (int i = 0; i < 3; ++i) {
      RunResult again = run_program(
          "/usr/bin/openssl",
          {"s_client", "-connect", address, version, "-CAfile", pki.ca_cert(), "-sess_in", file},
          "", 20000ms);
      BOOST_TEST(again.out.find("\nReused, TLSv1.") != std::string::npos, version << again.out);
    }
  }
}

// After a reload each prefork worker loads the certificate again on its own; the ticket keys
// must stay the server's, or a ticket from one worker would not resume in another. The
// parent passes each connection to the first idle worker: a plain connection held open keeps
// the first worker busy, so the ticket comes from the second, and the resumption (after the
// first is free again) goes to the first. The access log names the worker of each.
BOOST_AUTO_TEST_CASE(after_a_reload_a_ticket_from_one_prefork_worker_resumes_in_another) {
  const TestPki& pki = certs().pki;
  TempDir dir("tls-tickets");
  std::string log = (dir.path / "access.log").string();
  ServerProcess echo("echo-server", tls_args("prefork", certs().server, {"--access-log", log}));
  ::kill(echo.pid(), SIGHUP);
  BOOST_REQUIRE_MESSAGE(echo.wait_for_log("SIGHUP: TLS: reloaded"), echo.log());
  std::string file = (dir.path / "session.pem").string();
  {
    UniqueFd busy = connect_tcp(echo.port());  // the first idle worker takes it, and waits
    SClient first(echo.port(), pki.ca_cert(), {"-tls1_3", "-sess_out", file});
    BOOST_TEST(eventually([&] { return std::filesystem::exists(file); }, 10000ms), first.log());
    first.finish();
  }
  // Both connections have ended (and logged): both workers are idle again.
  BOOST_REQUIRE(eventually([&] { return count_of(dir.read("access.log"), "\n") == 2; }, 15000ms));
  RunResult again = run_program("/usr/bin/openssl",
                                {"s_client", "-connect", "127.0.0.1:" + std::to_string(echo.port()),
                                 "-tls1_3", "-CAfile", pki.ca_cert(), "-sess_in", file},
                                "", 20000ms);
  BOOST_TEST(again.out.find("\nReused, TLSv1.3") != std::string::npos, again.out);
  // Which worker served which: the ticket's and the resumption's lines name different pids.
  BOOST_REQUIRE(eventually([&] { return count_of(dir.read("access.log"), "\n") == 3; }, 15000ms));
  // The held connection ended in its handshake; the other two, the ticket's and the
  // resumption's, closed normally: their pids must differ.
  std::vector<std::string> pids;
  std::istringstream lines(dir.read("access.log"));
  for (std::string line; std::getline(lines, line);) {
    if (line.find(" end=closed ") == std::string::npos) continue;
    size_t at = line.find(" pid=") + 5;
    pids.push_back(line.substr(at, line.find(' ', at) - at));
  }
  BOOST_TEST_REQUIRE(pids.size() == 2u, dir.read("access.log"));
  BOOST_TEST(pids[0] != pids[1], "one worker served both: " << dir.read("access.log"));
}

// cmd-server under mutual TLS: a command learns who ran it from SOCKSERV_SUBJECT.
BOOST_AUTO_TEST_CASE(cmd_server_gives_commands_the_client_subject) {
  const CertFiles& alice = certs().alice;
  std::vector<std::string> extra{"--tls-client-ca", certs().pki.ca_cert(), "--allow",
                                 "printenv SOCKSERV_SUBJECT"};
  // cmd-server will not run clients' commands as root: the tests (root here) drop to nobody.
  if (::geteuid() == 0) extra.insert(extra.end(), {"--user", "nobody"});
  ServerProcess cmd("cmd-server", tls_args("thread", certs().server, extra));
  SClient client(cmd.port(), certs().pki.ca_cert(), {"-cert", alice.cert, "-key", alice.key});
  client.send(request_frame(R"({"argv":["printenv","SOCKSERV_SUBJECT"]})"));
  BOOST_TEST(client.saw("O=sockserv tests,CN=alice\n"), client.log() << cmd.log());
}

// SIGTERM ends idle connections at once (drain.hpp): over TLS too, the socket shut for
// reading reads as the end of the stream, not as a broken record.
BOOST_DATA_TEST_CASE(stopping_server_closes_an_idle_tls_connection_at_once, kSlowModels, model) {
  ServerProcess echo("echo-server", tls_args(model, certs().server, {"--drain-timeout", "60"}));
  SClient idle(echo.port(), certs().pki.ca_cert());
  idle.send("one line, then silence\n");
  BOOST_TEST_REQUIRE(idle.saw("one line, then silence"));
  BOOST_TEST(echo.stop(SIGTERM, 30000ms) == 0);  // well before the 60 s drain time
  BOOST_TEST(echo.log().find("server stopping: idle connection closed") != std::string::npos,
             echo.log());
}

BOOST_AUTO_TEST_CASE(bad_tls_options_are_refused_before_serving) {
  const CertFiles& server = certs().server;
  const CertFiles& other = certs().stranger;
  auto echo = [](std::vector<std::string> args) {
    args.insert(args.end(), {"--listen", "127.0.0.1:0"});
    return run_program("echo-server", args);
  };
  RunResult no_key = echo({"--tls-cert", server.cert});
  BOOST_TEST(no_key.exit_code == 64);
  BOOST_TEST(no_key.err.find("--tls-cert and --tls-key go together") != std::string::npos);
  // The key of another certificate: EX_CONFIG, naming both files.
  RunResult mismatch = echo({"--tls-cert", server.cert, "--tls-key", other.key});
  BOOST_TEST(mismatch.exit_code == 78);
  BOOST_TEST(
      mismatch.err.find("--tls-key " + other.key + ": key values mismatch") != std::string::npos,
      mismatch.err);
  RunResult missing = echo({"--tls-cert", "/nonexistent.pem", "--tls-key", server.key});
  BOOST_TEST(missing.exit_code == 78);
  BOOST_TEST(missing.err.find("--tls-cert /nonexistent.pem") != std::string::npos, missing.err);
  BOOST_TEST(missing.err.find("listening on") == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
