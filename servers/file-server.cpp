// file-server: lists, sends and (with --allow-upload) receives the files of one directory,
// over framed messages (docs/protocols.md; seed 002's file transfer, with seed 004's framing).
//
// Every request and reply is a frame: 4-byte big-endian header length, JSON header, body.
// Bodies stream: a file goes out with sendfile(2) and comes in 256 KiB at a time, so memory
// stays small whatever the file size. Names are resolved with openat2(RESOLVE_BENEATH).
// An upload stays invisible until it is complete and its sha256 checked (common/staging);
// a full disk is answered with an error frame (common/upload). Digests are cached in this
// process's memory, never in the served tree (common/digest_cache).
// Everything that may wait for a disk (opening, listing, hashing, writing, renaming) goes
// through offloaded(): a helper thread under the epoll model, right here under the others.
//
// Try it:   file-server --root /usr/share/doc --listen 127.0.0.1:5566
//           file-client 127.0.0.1:5566 list      file-client 127.0.0.1:5566 get bash/README
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "beneath.hpp"
#include "compressed_body.hpp"
#include "digest_cache.hpp"
#include "download.hpp"
#include "escape.hpp"
#include "framing.hpp"
#include "log.hpp"
#include "run.hpp"
#include "staging.hpp"
#include "upload.hpp"

using namespace sockserv;

namespace {

struct FileSettings {
  std::string root;
  bool allow_upload = false;
  bool overwrite = false;
  uint64_t max_upload = uint64_t{1} << 40;
  void add_options(po::options_description& desc) {
    desc.add_options()("root", po::value(&root)->required(), "directory to serve")(
        "allow-upload", po::bool_switch(&allow_upload),
        "accept put requests (staged unseen in ROOT/.sockserv-staging until complete)")(
        "overwrite", po::bool_switch(&overwrite), "let put replace existing files")(
        "max-upload", po::value(&max_upload)->default_value(max_upload), "largest upload in bytes");
  }
  void validate() const {
    struct stat st {};
    if (::stat(root.c_str(), &st) < 0 || !S_ISDIR(st.st_mode))
      throw UsageError("--root " + root + " is not a directory");
    // Uploads a killed server was receiving (docs/protocols.md, "Uploads").
    if (size_t stale = allow_upload ? remove_stale_staging(root) : 0)
      log_info("removed ", stale, " unfinished upload(s) from ", root, "/", kStagingDirectory);
  }
  // The sha256 of served files, in this process's memory: shared by its connections.
  mutable DigestCache digests;
};

class FileHandler : public StreamHandler {
 public:
  using Settings = FileSettings;
  FileHandler(Connection& connection, const FileSettings& settings)
      : StreamHandler(connection), settings_(settings), stream_(connection) {}

  void handle() override {
    offloaded(connection_.io(), [this] { tree_.emplace(settings_.root); });
    // One connection may carry many requests; a clean end of stream ends it.
    reporting_protocol_errors(stream_, [this] {
      while (std::optional<FrameHeader> request = read_frame_header(stream_, {.max_body = 0}))
        serve(request->header);
    });
  }

 private:
  void serve(const Json& h) {
    try {
      std::string op = h.value("op", "");
      if (op == "list")
        list(h.value("dir", "."));
      else if (op == "get")
        get(h, h.at("name").get<std::string>(), h.value("offset", uint64_t{0}));
      else if (op == "put")
        put(h, h.at("name").get<std::string>(), h.at("length").get<uint64_t>(),
            h.at("sha256").get<std::string>());
      else
        throw Refusal("unknown op '" + op + "'");
    } catch (const Refusal& e) {
      write_frame(stream_, {{"status", "error"}, {"error", e.what()}});
    } catch (const Json::exception& e) {
      throw ProtocolError(std::string("bad request: ") + e.what());
    }
  }

  void list(const std::string& dir) {
    Json entries = Json::array();
    std::vector<DirEntry> found = offloaded(connection_.io(), [&] {
      return list_directory(
          tree_->open(dir, O_RDONLY | O_DIRECTORY, connection_.peer_name()).get());
    });
    for (const DirEntry& e : found) {
      entries.push_back({{"name", e.name}, {"type", e.type}, {"size", e.size}, {"mtime", e.mtime}});
    }
    std::string body = entries.dump(-1, ' ', false, Json::error_handler_t::replace);
    write_frame(stream_, {{"status", "ok"}}, as_bytes(body));
  }

  // `request` may offer encodings ("encodings": ["zstd","gzip"]); without, the reply is plain.
  void get(const Json& request, const std::string& name, uint64_t offset) {
    auto [file, total, digest] = offloaded(connection_.io(), [&] {
      return open_download(*tree_, settings_.digests, name, offset, connection_.peer_name());
    });
    uint64_t count = total - offset;
    Encoding encoding = choose_encoding(request, count);
    log_info(connection_.peer_name(), ": get ", client_text(name), " from ", offset, " (", count,
             " bytes",
             encoding == Encoding::identity ? "" : std::string(", ") + to_string(encoding), ")");
    Json reply{{"status", "ok"}, {"total", total}, {"offset", offset}, {"sha256", digest}};
    if (encoding == Encoding::identity) {
      write_frame_header(stream_, reply, count);
      connection_.send_file(file.get(), offset, count);  // the kernel copies: no buffer here
      return;
    }
    BodyStats sent = send_compressed_body(stream_, connection_.io(), reply, encoding, count,
                                          file_reader(file.get(), offset));
    log_info(connection_.peer_name(), ": sent ", client_text(name), ": ", sent.summary(encoding));
  }

  void put(const Json& request, const std::string& name, uint64_t length,
           const std::string& sha256) {
    if (!settings_.allow_upload) throw Refusal("uploads not allowed");
    if (length > settings_.max_upload) throw Refusal("too large");
    IoContext& io = connection_.io();
    std::unique_ptr<StagedFile> staged = offloaded(io, [&] {
      return tree_->stage(name, length, settings_.overwrite, connection_.peer_name());
    });
    // The client may send the body compressed in the encoding "ready" names, if any.
    Encoding accepted = choose_encoding(request, length);
    Json ready{{"status", "ready"}};
    if (accepted != Encoding::identity) ready["encoding"] = to_string(accepted);
    write_frame(stream_, ready);
    std::optional<ReceivedUpload> received =
        receive_upload(stream_, io, staged->fd(), length, accepted, connection_.peer_name());
    if (!received) return;  // not stored, and the client has been told why
    if (received->sha256 != sha256) throw Refusal("sha256 mismatch: upload discarded");
    if (!offloaded(io, [&] { return staged->commit(settings_.overwrite); }))
      throw Refusal("exists");
    log_info(connection_.peer_name(), ": put ", client_text(name), " (", length, " bytes",
             received->wire.empty() ? "" : ", received: " + received->wire, ")");
    write_frame(stream_, {{"status", "ok"}, {"length", length}, {"sha256", sha256}});
  }

  const FileSettings& settings_;
  ConnectionStream stream_;
  std::optional<ServedTree> tree_;  // opened per connection: a replaced root is picked up
};

}  // namespace

int main(int argc, char** argv) {
  return run<FileHandler>(
      {.name = "file-server",
       .port = 5566,
       .summary = "Serves the files of one directory (framed, sha256, sendfile).",
       .chroot_option = true,
       .subject_option = true},  // --allow-subject: who may get and put, by certificate
      argc, argv);
}
