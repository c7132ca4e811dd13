// cmd-server: runs allowed commands for a client and returns stdout, stderr and the exit
// status in one framed reply (docs/protocols.md; seed 004's remote shell, made safe).
//
// Loopback only unless --listen says otherwise. A command runs only if an --allow entry is
// its whole command line, or an --allow-args entry patterns each of its arguments (see
// allow_list.hpp), or with --allow-shell as `sh -c TEXT` (the tutorials' shell=True). Each
// runs with stdin from /dev/null, in `/`, with only PATH, LANG, SOCKSERV_PEER (the client's
// address), SOCKSERV_SUBJECT (its certificate's subject, under mutual TLS) and what --env
// adds in its environment, in a session of its own under a reaper
// that kills whatever it leaves running, and everything after --timeout; output beyond
// --max-output is dropped and the reply says "truncated".
//
// Try it:   cmd-server --allow 'uname -a' --allow date        (listens on 127.0.0.1:8022)
//           cmd-client 127.0.0.1:8022 -- uname -a
#include <cstdlib>

#include "allow_list.hpp"
#include "command.hpp"
#include "compressed_body.hpp"
#include "error.hpp"
#include "escape.hpp"
#include "framing.hpp"
#include "log.hpp"
#include "program.hpp"
#include "run.hpp"

using namespace sockserv;

namespace {

// "NAME=VALUE" set to `text`, replacing an earlier NAME.
void set_variable(std::vector<std::string>& env, const std::string& text) {
  size_t equals = text.find('=');
  std::string name = text.substr(0, equals + 1);
  for (std::string& e : env) {
    if (e.rfind(name, 0) == 0) {
      e = text;
      return;
    }
  }
  env.push_back(text);
}

void check_env_option(const std::string& text) {
  size_t equals = text.find('=');
  std::string name = text.substr(0, equals);
  bool good_name = equals != std::string::npos && !name.empty() &&
                   name.find_first_not_of(
                       "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_"
                       "0123456789") == std::string::npos &&
                   !std::isdigit(static_cast<unsigned char>(name[0]));
  if (!good_name) throw UsageError("bad --env '" + text + "': expected NAME=VALUE");
  if (name == "SOCKSERV_PEER" || name == "SOCKSERV_SUBJECT")
    throw UsageError("--env cannot set " + name);
}

struct CmdSettings {
  std::vector<std::string> allow, allow_args, env;
  bool allow_shell = false;
  double timeout = 10;
  size_t max_output = 1 << 20;
  // Derived in validate():
  AllowList allow_list;
  std::vector<std::string> environment;  // the commands' whole environment but SOCKSERV_PEER
  Millis timeout_ms{0};

  void add_options(po::options_description& desc) {
    desc.add_options()("allow", po::value(&allow)->composing(),
                       "a command line that may run, exactly: 'uname -a' (repeatable; "
                       "'date' allows date with no arguments)")(
        "allow-args", po::value(&allow_args)->composing(),
        "a program and one regular expression per argument: 'date \\+%[a-zA-Z]+'; a last "
        "'...' repeats the last one; an argument with '/' needs a pattern with '/' (repeatable)")(
        "allow-shell", po::bool_switch(&allow_shell), "allow `sh -c TEXT` requests (any command!)")(
        "env", po::value(&env)->composing(),
        "NAME=VALUE for the commands' environment (repeatable; they get only PATH, LANG, "
        "SOCKSERV_PEER, SOCKSERV_SUBJECT under mutual TLS, and these)")(
        "timeout", non_negative(&timeout)->default_value(timeout),
        "seconds before a command is killed (0: no limit)")(
        "max-output", non_negative(&max_output)->default_value(max_output),
        "bytes of output kept per command");
  }

  void validate() {
    timeout_ms = seconds_option(timeout, "timeout");
    // The reply holds the output in memory: a limit past 1 GiB is no limit at all.
    if (max_output > (size_t{1} << 30)) throw UsageError("--max-output is at most 1073741824");
    for (const std::string& entry : allow) allow_list.allow_exact(entry);
    for (const std::string& entry : allow_args) allow_list.allow_patterns(entry);
    // Not the server's environment: it may hold credentials the commands must not see.
    const char* path = std::getenv("PATH");
    const char* lang = std::getenv("LANG");
    environment = {std::string("PATH=") + (path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin"),
                   std::string("LANG=") + (lang != nullptr ? lang : "C.UTF-8")};
    for (const std::string& text : env) {
      check_env_option(text);
      set_variable(environment, text);
    }
  }
};

class CmdHandler : public StreamHandler {
 public:
  using Settings = CmdSettings;
  CmdHandler(Connection& connection, const CmdSettings& settings)
      : StreamHandler(connection), settings_(settings), stream_(connection) {}

  void handle() override {
    reporting_protocol_errors(stream_, [this] {
      while (std::optional<FrameHeader> request = read_frame_header(stream_, {.max_body = 0}))
        serve(request->header);
    });
  }

 private:
  void serve(const Json& request) {
    std::vector<std::string> argv;
    std::string refusal;
    try {
      refusal = check(request, argv);
    } catch (const Json::exception& e) {
      throw ProtocolError(std::string("bad request: ") + e.what());
    }
    if (!refusal.empty()) {
      log_warning(connection_.peer_name(), ": refused: ", client_text(refusal));
      write_frame(stream_, {{"status", "error"}, {"error", refusal}});
      return;
    }
    // What the request offers, for output of any size; run() sends small output plain.
    run(argv, choose_encoding(request, UINT64_MAX));
  }

  // Fills `argv` from {"argv": [...]} or {"shell": "..."}; returns why it may not run, or "".
  std::string check(const Json& request, std::vector<std::string>& argv) const {
    if (settings_.allow_list.empty() && !settings_.allow_shell)
      return "no commands allowed (server has no --allow, --allow-args or --allow-shell)";
    if (request.contains("shell")) {
      if (!settings_.allow_shell) return "shell commands not allowed";
      argv = {"/bin/sh", "-c", request.at("shell").get<std::string>()};
      return "";
    }
    argv = request.at("argv").get<std::vector<std::string>>();
    return settings_.allow_list.refusal(argv);
  }

  // `offered`: the encoding the request offered that we have (identity: none).
  void run(const std::vector<std::string>& argv, Encoding offered) {
    log_info(connection_.peer_name(), ": running ",
             Json(argv).dump(-1, ' ', false, Json::error_handler_t::replace));
    std::vector<std::string> env = settings_.environment;
    env.push_back("SOCKSERV_PEER=" + connection_.peer_name());
    // Mutual TLS (--tls-client-ca): who the client's certificate says it is, RFC 2253.
    if (!connection_.peer_subject().empty())
      env.push_back("SOCKSERV_SUBJECT=" + connection_.peer_subject());
    CommandResult r;
    try {
      r = run_command(argv, env, {settings_.timeout_ms, settings_.max_output}, connection_.io());
    } catch (const std::system_error& e) {
      write_frame(stream_, {{"status", "error"},
                            {"error", std::string("cannot run: ") + e.code().message()}});
      return;
    }
    if (r.descendants_killed > 0 || r.output_held) {
      log_info(connection_.peer_name(), ": killed ", r.descendants_killed,
               " processes the command had started and left running",
               r.output_held ? "; a process out of reach held its output open" : "");
    }
    std::string body = r.out + r.err;
    Encoding encoding = body.size() < kMinCompressedBody ? Encoding::identity : offered;
    if (encoding == Encoding::identity) {
      write_frame(stream_, reply_header(r), as_bytes(body));
      return;
    }
    BodyStats sent = send_compressed_body(stream_, connection_.io(), reply_header(r), encoding,
                                          body.size(), memory_reader(body));
    log_info(connection_.peer_name(), ": output sent: ", sent.summary(encoding));
  }

  static Json reply_header(const CommandResult& r) {
    Json reply{{"status", "ok"},
               {"timed_out", r.timed_out},
               {"truncated", r.truncated},
               {"descendants_killed", r.descendants_killed},
               {"output_held", r.output_held},
               {"stdout", r.out.size()}};
    if (r.signal != 0)
      reply["signal"] = r.signal;
    else
      reply["exit_code"] = r.exit_code;
    return reply;
  }

  const CmdSettings& settings_;
  ConnectionStream stream_;
};

}  // namespace

int main(int argc, char** argv) {
  return run<CmdHandler>(
      {.name = "cmd-server",
       .port = 8022,
       .summary = "Runs allowed commands for clients (framed replies: stdout, stderr, status).",
       .refuse_root = true,  // never run clients' commands as root unless told to
       .host = "127.0.0.1",
       .subject_option = true},  // --allow-subject: who may run commands, by certificate
      argc, argv);
}
