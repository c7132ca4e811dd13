// cmd-client: runs a command on a cmd-server and prints its output as if it ran here.
//
//   cmd-client ADDR -- PROG ARGS...     one command; exits with its status (128+N if killed
//                                       by signal N), like a shell would
//   cmd-client ADDR                     interactive, the tutorials' ">>> " prompt
// With --shell the words are sent as one `sh -c` text (the server needs --allow-shell).
//
// With --tls the connection is TLS, and --cert/--key present a client certificate to a
// server that requires one (see docs/tls.md): the way to run cmd-server off loopback.
//
// Try it:   cmd-server --allow uname &   cmd-client 127.0.0.1:8022 -- uname -a
#include <unistd.h>

#include <iostream>
#include <sstream>

#include "client.hpp"
#include "client_stream.hpp"
#include "compressed_body.hpp"
#include "framing.hpp"
#include "options.hpp"
#include "socket.hpp"

using namespace sockserv;

namespace {

// The largest reply body taken, also once decompressed: output is held in memory.
constexpr uint64_t kMaxReply = uint64_t{1} << 30;

// Reads a reply frame and its body, plain or (when `compress` offered it) compressed.
Frame read_reply(ClientStream& stream, bool compress) {
  std::optional<FrameHeader> head = read_frame_header(stream, {.max_body = kMaxReply});
  if (!head) throw ProtocolError("server closed the connection");
  Encoding encoding = announced_encoding(head->header, compress);
  if (encoding == Encoding::identity)
    return {std::move(head->header), read_body_string(stream, head->body_size)};
  std::string body;
  read_compressed_body(stream, encoding, announced_length(head->header, kMaxReply),
                       [&](std::span<const std::byte> chunk) {
                         body.append(reinterpret_cast<const char*>(chunk.data()), chunk.size());
                       });
  return {std::move(head->header), std::move(body)};
}

// Sends one request, prints the command's stdout and stderr, returns its shell-style status.
int run_remote(ClientStream& stream, const std::vector<std::string>& words, bool shell,
               bool compress) {
  Json request;
  if (shell) {
    std::string text;
    for (const std::string& w : words) text += (text.empty() ? "" : " ") + w;
    request["shell"] = text;
  } else {
    request["argv"] = words;
  }
  if (compress) request["encodings"] = offered_encodings();
  write_frame(stream, request);
  Frame reply = read_reply(stream, compress);
  const Json& h = reply.header;
  if (h.value("status", "") != "ok") throw std::runtime_error("server: " + h.value("error", "?"));
  size_t out_size = std::min(h.value("stdout", size_t{0}), reply.body.size());
  std::cout << std::string_view(reply.body).substr(0, out_size) << std::flush;
  std::cerr << std::string_view(reply.body).substr(out_size);
  if (h.value("truncated", false)) std::cerr << "cmd-client: output truncated by the server\n";
  if (h.value("timed_out", false)) std::cerr << "cmd-client: killed after the server's timeout\n";
  if (size_t killed = h.value("descendants_killed", size_t{0}); killed > 0)
    std::cerr << "cmd-client: the server killed " << killed
              << " processes the command left running\n";
  if (h.value("output_held", false))
    std::cerr << "cmd-client: output cut short: a process the server could not kill held it\n";
  if (h.contains("signal")) return 128 + h["signal"].get<int>();
  return h.value("exit_code", EX_SOFTWARE);
}

int interactive(ClientStream& stream, bool shell, bool compress) {
  int status = 0;
  std::string line;
  while ((std::cout << ">>> " << std::flush) && std::getline(std::cin, line)) {
    std::istringstream split(line);
    std::vector<std::string> words{std::istream_iterator<std::string>(split), {}};
    if (words.empty()) continue;
    if (words[0] == "exit" || words[0] == "quit") break;
    try {
      status = run_remote(stream, shell ? std::vector<std::string>{line} : words, shell, compress);
    } catch (const std::runtime_error& e) {
      if (dynamic_cast<const ProtocolError*>(&e) != nullptr) throw;
      std::cerr << "cmd-client: " << e.what() << "\n";  // refused: the session goes on
      status = EX_NOPERM;
    }
  }
  std::cout << "\n";
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  po::options_description options("cmd-client options");
  options.add_options()("address", po::value<std::string>()->required(),
                        "server: HOST:PORT or unix:PATH")(
      "command", po::value<std::vector<std::string>>()->default_value({}, ""),
      "program and arguments (after --)")("shell", po::bool_switch(),
                                          "send the words as one `sh -c` text")(
      "compress", po::bool_switch(), "offer zstd and gzip for the output (the server chooses)")(
      "timeout", non_negative<double>()->default_value(120),
      "seconds to wait for a reply (0: no limit)");
  add_tls_client_options(options, true);
  po::positional_options_description positional;
  positional.add("address", 1).add("command", -1);
  return run_client(
      {"cmd-client", "ADDR [--shell] [--compress] [-- PROG ARGS...]",
       "Runs commands on a cmd-server."},
      argc, argv, options, positional, [](const po::variables_map& values) {
        // Every option is checked before the first connection: a usage error is not a refusal.
        Millis timeout = seconds_option(values["timeout"].as<double>(), "timeout");
        Endpoint server = parse_endpoint(values["address"].as<std::string>());
        auto tls = tls_context_for(values, server);
        ClientStream stream = open_client_stream(server, timeout, tls.get());
        auto command = values["command"].as<std::vector<std::string>>();
        bool shell = values["shell"].as<bool>(), compress = values["compress"].as<bool>();
        if (command.empty()) return interactive(stream, shell, compress);
        try {
          return run_remote(stream, command, shell, compress);
        } catch (const std::runtime_error& e) {
          if (dynamic_cast<const ProtocolError*>(&e) != nullptr) throw;
          std::cerr << "cmd-client: " << e.what() << "\n";
          return EX_NOPERM;
        }
      });
}
