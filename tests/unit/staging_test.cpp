// Upload staging without a server: unnamed and named staged files, commit with and without
// overwrite, what an abandoned upload leaves, stale files removed only when unlocked, and
// the room check.
#include "staging.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "beneath.hpp"

using namespace sockserv;
namespace fs = std::filesystem;
namespace bdata = boost::unit_test::data;

namespace {

struct Tree {
  fs::path root;
  UniqueFd root_fd;
  Tree() {
    char name[] = "/tmp/sockserv-staging-XXXXXX";
    BOOST_REQUIRE(::mkdtemp(name) != nullptr);
    root = name;
    root_fd.reset(::open(name, O_PATH | O_DIRECTORY | O_CLOEXEC));
  }
  ~Tree() { fs::remove_all(root); }
  UniqueFd dir() const {
    return UniqueFd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  }
  size_t staged_names() const {
    fs::path staging = root / kStagingDirectory;
    return fs::exists(staging) ? static_cast<size_t>(std::distance(fs::directory_iterator(staging),
                                                                   fs::directory_iterator()))
                               : 0;
  }
  std::string read(const std::string& name) const {
    std::ifstream in(root / name, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
};

void write_text(int fd, const std::string& text) {
  BOOST_REQUIRE(::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(staging)

BOOST_DATA_TEST_CASE(staged_files_appear_only_when_committed, bdata::make({true, false}),
                     unnamed_allowed) {
  Tree tree;
  {
    StagedFile staged(tree.root_fd.get(), tree.dir(), "a.txt", unnamed_allowed);
    BOOST_TEST(staged.unnamed() == unnamed_allowed);
    BOOST_TEST(tree.staged_names() == (unnamed_allowed ? 0u : 1u));
    write_text(staged.fd(), "first");
    BOOST_TEST(!fs::exists(tree.root / "a.txt"));
    BOOST_TEST(staged.commit(false));
  }
  BOOST_TEST(tree.read("a.txt") == "first");
  BOOST_TEST(tree.staged_names() == 0u);
  {
    StagedFile again(tree.root_fd.get(), tree.dir(), "a.txt", unnamed_allowed);
    write_text(again.fd(), "second");
    BOOST_TEST(!again.commit(false), "no overwrite: the name is kept");
    BOOST_TEST(again.commit(true));
  }
  BOOST_TEST(tree.read("a.txt") == "second");
  {
    StagedFile abandoned(tree.root_fd.get(), tree.dir(), "b.txt", unnamed_allowed);
    write_text(abandoned.fd(), "never committed");
  }
  BOOST_TEST(!fs::exists(tree.root / "b.txt"));
  BOOST_TEST(tree.staged_names() == 0u, "an abandoned upload leaves nothing");
}

BOOST_AUTO_TEST_CASE(only_unlocked_staging_files_are_stale) {
  Tree tree;
  BOOST_TEST(remove_stale_staging(tree.root.string()) == 0u, "no staging directory yet");
  StagedFile live(tree.root_fd.get(), tree.dir(), "live", false);
  std::ofstream(tree.root / kStagingDirectory / "dead.part") << "left by a killed server";
  BOOST_TEST(tree.staged_names() == 2u);
  BOOST_TEST(remove_stale_staging(tree.root.string()) == 1u);
  BOOST_TEST(tree.staged_names() == 1u, "the live upload's file is kept");
  BOOST_TEST(live.commit(false));
}

BOOST_AUTO_TEST_CASE(reserved_names_are_refused_and_the_room_is_checked) {
  BOOST_TEST(name_problem(".sockserv-staging") == "reserved name");
  BOOST_TEST(name_problem("sub/.sockserv-staging/x") == "reserved name");
  BOOST_TEST(name_problem(".sockserv") == "");
  Tree tree;
  UniqueFd dir = tree.dir();
  BOOST_CHECK_NO_THROW(check_room(dir.get(), 1));
  BOOST_CHECK_EXCEPTION(check_room(dir.get(), uint64_t{1} << 62), Refusal, [](const Refusal& e) {
    return std::string(e.what()).find("(ENOSPC)") != std::string::npos;
  });
  BOOST_TEST(errno_reason(ENOSPC) == "No space left on device (ENOSPC)");
}

BOOST_AUTO_TEST_SUITE_END()
