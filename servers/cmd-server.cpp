// cmd-server: runs allowed commands for a client and returns stdout, stderr and the exit
// status in one framed reply (docs/protocols.md; seed 004's remote shell, made safe).
//
// Loopback only unless --listen says otherwise. A command runs only if --allow names its
// program, or with --allow-shell as `sh -c TEXT` (the tutorials' shell=True). Each runs with
// stdin from /dev/null, in its own process group, killed with its children after --timeout;
// output beyond --max-output is dropped and the reply says "truncated". The command finds the
// client's address in SOCKSERV_PEER.
//
// Try it:   cmd-server --allow uname --allow date        (listens on 127.0.0.1:8022)
//           cmd-client 127.0.0.1:8022 -- uname -a
#include <algorithm>

#include "command.hpp"
#include "escape.hpp"
#include "framing.hpp"
#include "log.hpp"
#include "run.hpp"

using namespace sockserv;

namespace {

struct CmdSettings {
  std::vector<std::string> allow;
  bool allow_shell = false;
  double timeout = 10;
  size_t max_output = 1 << 20;
  void add_options(po::options_description& desc) {
    desc.add_options()("allow", po::value(&allow)->composing(),
                       "program that may run (repeatable)")(
        "allow-shell", po::bool_switch(&allow_shell), "allow `sh -c TEXT` requests (any command!)")(
        "timeout", po::value(&timeout)->default_value(timeout),
        "seconds before a command is killed")("max-output",
                                              po::value(&max_output)->default_value(max_output),
                                              "bytes of output kept per command");
  }
  void validate() const { seconds_option(timeout, "timeout"); }
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
    run(argv);
  }

  // Fills `argv` from {"argv": [...]} or {"shell": "..."}; returns why it may not run, or "".
  std::string check(const Json& request, std::vector<std::string>& argv) const {
    if (settings_.allow.empty() && !settings_.allow_shell)
      return "no commands allowed (server has no --allow or --allow-shell)";
    if (request.contains("shell")) {
      if (!settings_.allow_shell) return "shell commands not allowed";
      argv = {"/bin/sh", "-c", request.at("shell").get<std::string>()};
      return "";
    }
    argv = request.at("argv").get<std::vector<std::string>>();
    if (argv.empty()) return "empty command";
    for (const std::string& a : argv) {
      if (a.find('\0') != std::string::npos) return "NUL byte in an argument";
    }
    if (std::find(settings_.allow.begin(), settings_.allow.end(), argv[0]) == settings_.allow.end())
      return "not allowed: " + argv[0];
    return "";
  }

  void run(const std::vector<std::string>& argv) {
    CommandLimits limits{seconds_option(settings_.timeout, "timeout"), settings_.max_output};
    log_info(connection_.peer_name(), ": running ",
             Json(argv).dump(-1, ' ', false, Json::error_handler_t::replace));
    CommandResult r;
    try {
      r = run_command(argv, {"SOCKSERV_PEER=" + connection_.peer_name()}, limits, connection_.io());
    } catch (const std::system_error& e) {
      write_frame(stream_, {{"status", "error"},
                            {"error", std::string("cannot run: ") + e.code().message()}});
      return;
    }
    Json reply{{"status", "ok"},
               {"timed_out", r.timed_out},
               {"truncated", r.truncated},
               {"stdout", r.out.size()}};
    if (r.signal != 0)
      reply["signal"] = r.signal;
    else
      reply["exit_code"] = r.exit_code;
    std::string body = r.out + r.err;
    write_frame(stream_, reply, as_bytes(body));
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
       .host = "127.0.0.1"},
      argc, argv);
}
