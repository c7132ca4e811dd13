// What the file-server tests share: starting the server, a raw protocol client, sha256.
#pragma once

#include <sys/mount.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "framing.hpp"
#include "harness.hpp"
#include "sha256.hpp"

// A named namespace: async lambdas capture these types, and gcc rejects lambdas with members
// of anonymous-namespace types inside Boost's test-case templates.
namespace file_test {

using namespace sockserv;
using namespace sockserv::test;

inline ServerProcess start_files(const std::string& root, const std::string& model,
                                 std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"--listen", "127.0.0.1:0", "--model", model, "--root", root};
  args.insert(args.end(), extra.begin(), extra.end());
  return ServerProcess("file-server", args);
}
inline ServerProcess start_files(const TempDir& root, const std::string& model,
                                 std::vector<std::string> extra = {}) {
  return start_files(root.path.string(), model, std::move(extra));
}

// A 1 MiB tmpfs on a temporary directory while it lives (root only): a disk to fill.
struct SmallDisk {
  TempDir dir{"small-disk"};
  bool mounted = false;
  SmallDisk() {
    mounted = ::mount("tmpfs", dir.path.c_str(), "tmpfs", 0, "size=1m,mode=0755") == 0;
  }
  ~SmallDisk() {
    if (mounted) ::umount2(dir.path.c_str(), MNT_DETACH);
  }
};

inline boost::test_tools::assertion_result can_mount(boost::unit_test::test_unit_id) {
  SmallDisk probe;
  boost::test_tools::assertion_result result(probe.mounted);
  result.message() << "mounting a 1 MiB tmpfs needs root (CAP_SYS_ADMIN)";
  return result;
}

inline std::string sha256(const std::string& data) {
  Sha256 hash;
  hash.update(as_bytes(data));
  return hash.hex_digest();
}

// A raw protocol client, for what file-client never sends.
struct RawClient {
  UniqueFd fd;
  FdStream stream;
  explicit RawClient(uint16_t port) : fd(connect_tcp(port)), stream(fd.get(), 20000ms) {
    set_nonblocking(fd.get(), true);
  }
  Frame ask(const Json& request) {
    write_frame(stream, request);
    return reply();
  }
  Frame reply() {
    std::optional<Frame> frame = read_frame(stream, {.max_body = 1 << 20});
    BOOST_REQUIRE_MESSAGE(frame, "server closed the connection");
    return std::move(*frame);
  }
  // A put request for `body` under `name`: the "ready" or error reply.
  Frame ask_put(const std::string& name, const std::string& body) {
    return ask({{"op", "put"}, {"name", name}, {"length", body.size()}, {"sha256", sha256(body)}});
  }
};

// Every name under `root`, recursively ("sub/b.txt"), leaving out the server's staging
// directory while it is empty: what a served tree holds beyond what the server keeps.
inline std::set<std::string> root_names(const std::filesystem::path& root) {
  std::set<std::string> names;
  for (const auto& e : std::filesystem::recursive_directory_iterator(root))
    names.insert(std::filesystem::relative(e.path(), root).string());
  if (names.contains(".sockserv-staging") && std::filesystem::is_empty(root / ".sockserv-staging"))
    names.erase(".sockserv-staging");
  return names;
}

}  // namespace file_test
