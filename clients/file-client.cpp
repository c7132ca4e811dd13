// file-client: lists, downloads and uploads files of a file-server (docs/protocols.md).
//
// Downloads go to PATH.part and are renamed to PATH only once the sha256 the server sent
// matches, so PATH is never a half file; --continue resumes from the .part file's size.
// A progress bar shows on a terminal for transfers over 1 MiB. Any error: non-zero exit.
// Listed names are escaped (control characters, backslash, invalid UTF-8 as \xNN): a name
// is the server's to choose and must not act on the terminal or split the tab-separated line.
//
// With --tls the connection is TLS (see docs/tls.md); put then encrypts from a read
// buffer instead of sendfile(2).
//
// Try it:   file-client 127.0.0.1:5566 list       file-client 127.0.0.1:5566 get notes.txt -o
// /tmp/n
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "client.hpp"
#include "client_stream.hpp"
#include "compressed_body.hpp"
#include "escape.hpp"
#include "framing.hpp"
#include "options.hpp"
#include "progress.hpp"
#include "sha256.hpp"
#include "socket.hpp"

using namespace sockserv;

namespace {

constexpr FrameLimits kReplyLimits{.max_body = uint64_t{1} << 62};

Json expect_ok(ClientStream& stream) {
  std::optional<Frame> reply = read_frame(stream, {.max_body = 64 << 20});
  if (!reply) throw ProtocolError("server closed the connection");
  if (reply->header.value("status", "") == "error")
    throw std::runtime_error("server: " + reply->header.value("error", "?"));
  reply->header["body"] = std::move(reply->body);
  return reply->header;
}

// What --compress or --encodings LIST offers the server: null for nothing (a plain transfer).
Json encodings_option(const po::variables_map& values) {
  std::string list = values["encodings"].as<std::string>();
  if (!list.empty()) return encodings_from_list(list, "--encodings");
  return values["compress"].as<bool>() ? offered_encodings() : Json();
}

int list(ClientStream& stream, const std::string& dir) {
  write_frame(stream, {{"op", "list"}, {"dir", dir}});
  for (const Json& e : Json::parse(expect_ok(stream)["body"].get<std::string>())) {
    std::cout << e.value("type", "?") << '\t' << e.value("size", uint64_t{0}) << '\t'
              << e.value("mtime", int64_t{0}) << '\t'
              << escape_text(e.value("name", ""), EscapeStyle::log) << '\n';
  }
  return EX_OK;
}

// With --compress, what a compressed transfer cost, on stderr (not a terminal-only bar: a
// script's log shows whether the data shrank or went as it was).
void report(const char* what, Encoding encoding, const BodyStats& stats) {
  if (encoding == Encoding::identity)
    std::cerr << "file-client: " << what << " uncompressed (the server chose so)\n";
  else
    std::cerr << "file-client: " << what << " " << stats.summary(encoding) << "\n";
}

// `offer`: the "encodings" to offer, null for none (--compress, --encodings).
int get(ClientStream& stream, const std::string& name, std::string path, bool resume,
        const Json& offer) {
  bool compress = !offer.is_null();
  if (path.empty()) path = name.substr(name.rfind('/') + 1);
  std::string part = path + ".part";
  UniqueFd file(::open(part.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | (resume ? 0 : O_TRUNC), 0644));
  if (!file) throw_errno("open " + part);
  off_t have = ::lseek(file.get(), 0, SEEK_END);
  if (have < 0) throw_errno("lseek " + part);
  Json request{{"op", "get"}, {"name", name}, {"offset", static_cast<uint64_t>(have)}};
  if (compress) request["encodings"] = offer;
  write_frame(stream, request);
  std::optional<FrameHeader> reply = read_frame_header(stream, kReplyLimits);
  // A refused get leaves no empty PATH.part behind (one with bytes in it stays, to resume).
  bool refused = !reply || reply->header.value("status", "") != "ok";
  if (refused && have == 0) ::unlink(part.c_str());
  if (!reply) throw ProtocolError("server closed the connection");
  if (refused) throw std::runtime_error("server: " + reply->header.value("error", "?"));
  // The digest covers the whole file: hash the part we already had, then what arrives.
  Sha256 hash;
  hash_file(hash, file.get(), 0, static_cast<uint64_t>(have));
  Progress progress(static_cast<uint64_t>(have), reply->header.value("total", uint64_t{0}));
  auto store = [&](std::span<const std::byte> chunk) {
    hash.update(chunk);
    write_all(file.get(), chunk, Deadline::never(), client_io());
    progress.add(chunk.size());
  };
  // Offsets and the digest count original bytes: a resumed get may be compressed too.
  Encoding encoding = announced_encoding(reply->header, compress);
  BodyStats stats;
  if (encoding == Encoding::identity) {
    read_body(stream, reply->body_size, store);
  } else {
    // Our own limit on what we decompress: exactly the rest of the file the server announced.
    uint64_t total = reply->header.value("total", uint64_t{0});
    uint64_t rest = total - std::min(total, static_cast<uint64_t>(have));
    if (announced_length(reply->header, rest) != rest)
      throw ProtocolError("compressed body of the wrong length");
    stats = read_compressed_body(stream, encoding, rest, store);
  }
  progress.finish();
  if (compress) report("received", encoding, stats);
  if (hash.hex_digest() != reply->header.value("sha256", "")) {
    ::unlink(part.c_str());  // a corrupt part must not be resumed
    throw std::runtime_error("sha256 mismatch: " + path + " not written");
  }
  if (::fsync(file.get()) < 0) throw_errno("fsync " + part);
  if (::rename(part.c_str(), path.c_str()) < 0) throw_errno("rename " + part);
  return EX_OK;
}

// True when the server has already said something while we are still sending: it only does
// that to refuse the upload (a full disk), and then there is no point in sending on.
// (Over TLS too: the session tickets a TLS 1.3 server sends after the handshake were read
// along with its "ready" reply, so what makes the socket readable now is an answer.)
bool server_spoke(const ClientStream& stream) {
  pollfd p{.fd = stream.socket(), .events = POLLIN, .revents = 0};
  return ::poll(&p, 1, 0) > 0;
}

int put(ClientStream& stream, const std::string& path, std::string name, const Json& offer) {
  bool compress = !offer.is_null();
  if (name.empty()) name = path.substr(path.rfind('/') + 1);
  UniqueFd file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st {};
  if (!file || ::fstat(file.get(), &st) < 0) throw_errno("open " + path);
  uint64_t length = static_cast<uint64_t>(st.st_size);
  Json request{{"op", "put"},
               {"name", name},
               {"length", length},
               {"sha256", sha256_of_file(file.get(), 0, length)}};
  if (compress) request["encodings"] = offer;
  write_frame(stream, request);
  // "ready": the server accepts the upload, and names the encoding it takes, if any.
  Encoding encoding = announced_encoding(expect_ok(stream), compress);
  Progress progress(0, length);
  if (encoding != Encoding::identity) {
    uint64_t shown = 0;
    BodyStats stats = send_compressed_body(
        stream, client_io(), Json::object(), encoding, length, file_reader(file.get(), 0),
        [&](const BodyStats& sent) {
          progress.add(sent.original - std::exchange(shown, sent.original));
          return !server_spoke(stream);  // a refusal (disk full): expect_ok below reads why
        });
    progress.add(stats.original - shown);
    expect_ok(stream);
    progress.finish();
    report("sent", encoding, stats);
    return EX_OK;
  }
  if (compress) report("sent", encoding, {});
  write_frame_header(stream, Json::object(), length);
  for (uint64_t sent = 0; sent < length;) {  // sendfile in 4 MiB steps, to move the bar
    if (server_spoke(stream)) break;         // expect_ok below reads why
    uint64_t step = std::min<uint64_t>(length - sent, 4 << 20);
    stream.send_file(file.get(), sent, step);
    sent += step;
    progress.add(step);
  }
  expect_ok(stream);
  return EX_OK;
}

}  // namespace

int main(int argc, char** argv) {
  po::options_description options("file-client options");
  options.add_options()("address", po::value<std::string>()->required(),
                        "server: HOST:PORT or unix:PATH")(
      "command", po::value<std::string>()->required(), "list, get or put")(
      "args", po::value<std::vector<std::string>>()->default_value({}, ""),
      "the command's arguments")("output,o", po::value<std::string>()->default_value(""),
                                 "get: write to this path")("continue,c", po::bool_switch(),
                                                            "get: resume from PATH.part")(
      "encodings", po::value<std::string>()->default_value(""),
      "get, put: offer only these, in this order (zstd,gzip; implies --compress)")(
      "compress", po::bool_switch(),
      "get, put: offer zstd and gzip (the server chooses; data that does not shrink goes as it "
      "is)")("timeout", non_negative<double>()->default_value(30),
             "seconds without progress before giving up (0: no limit)");
  add_tls_client_options(options, true);
  po::positional_options_description positional;
  positional.add("address", 1).add("command", 1).add("args", -1);
  return run_client(
      {"file-client",
       "ADDR list [DIR] | get NAME [-o PATH] [--continue] [--compress] | put PATH [NAME] "
       "[--compress]",
       "Client of file-server."},
      argc, argv, options, positional, [](const po::variables_map& values) {
        auto args = values["args"].as<std::vector<std::string>>();
        std::string command = values["command"].as<std::string>();
        auto arg = [&](size_t i) { return i < args.size() ? args[i] : std::string(); };
        size_t most = command == "put" ? 2 : 1, least = command == "list" ? 0 : 1;
        if (args.size() < least || args.size() > most)
          throw UsageError("wrong number of arguments for " + command);
        // Every option is checked before the first connection: a usage error is not a refusal.
        Millis timeout = seconds_option(values["timeout"].as<double>(), "timeout");
        Json offer = encodings_option(values);
        Endpoint server = parse_endpoint(values["address"].as<std::string>());
        auto tls = tls_context_for(values, server);
        ClientStream stream = open_client_stream(server, timeout, tls.get());
        if (command == "list") return list(stream, args.empty() ? "." : args[0]);
        if (command == "get")
          return get(stream, arg(0), values["output"].as<std::string>(),
                     values["continue"].as<bool>(), offer);
        if (command == "put") return put(stream, arg(0), arg(1), offer);
        throw UsageError("unknown command '" + command + "'");
      });
}
