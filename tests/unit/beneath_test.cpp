// Name checks for served directories: the text rules, and openat2(RESOLVE_BENEATH) on a
// small tree with symlinks that stay inside and ones that point out.
#include "beneath.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>

using namespace sockserv;
namespace fs = std::filesystem;

BOOST_AUTO_TEST_SUITE(beneath)

BOOST_AUTO_TEST_CASE(name_problem_rules) {
  for (const char* ok : {"a", "a/b.txt", "./a", "a/./b", "..a", "a..", "a/..b"}) {
    BOOST_TEST(name_problem(ok) == "", ok);
  }
  for (const char* out : {"/etc/passwd", "..", "../a", "a/../../b", "a/..", "a/../b"}) {
    BOOST_TEST(name_problem(out) == "outside root", out);
  }
  BOOST_TEST(name_problem("") == "invalid name");
  BOOST_TEST(name_problem(std::string("a\0b", 3)) == "invalid name");
}

BOOST_AUTO_TEST_CASE(open_beneath_refuses_symlinks_that_leave) {
  char name[] = "/tmp/sockserv-beneath-XXXXXX";
  BOOST_REQUIRE(::mkdtemp(name) != nullptr);
  fs::path root = name;
  std::ofstream(root / "inside.txt") << "in";
  fs::create_symlink("inside.txt", root / "good");
  fs::create_symlink("/etc/hostname", root / "absolute");
  fs::create_symlink("../", root / "up");
  UniqueFd dir(::open(name, O_PATH | O_DIRECTORY | O_CLOEXEC));
  BOOST_TEST(static_cast<bool>(open_beneath(dir.get(), "good", O_RDONLY)));
  for (const char* bad : {"absolute", "up/etc/hostname", "../etc/hostname"}) {
    BOOST_CHECK_EXCEPTION(open_beneath(dir.get(), bad, O_RDONLY), std::system_error,
                          [](const std::system_error& e) { return e.code().value() == EXDEV; });
  }
  BOOST_TEST(open_error_message(EXDEV) == "outside root");
  BOOST_TEST(open_error_message(ENOENT) == "not found");
  fs::remove_all(root);
}

// The fallback for a sandbox without openat2 (systemd's RestrictSUIDSGID=): files and
// directories inside open; every symlink, inside or out, and ".." are refused.
BOOST_AUTO_TEST_CASE(open_by_components_opens_inside_and_refuses_every_symlink) {
  char name[] = "/tmp/sockserv-beneath-XXXXXX";
  BOOST_REQUIRE(::mkdtemp(name) != nullptr);
  fs::path root = name;
  fs::create_directory(root / "sub");
  std::ofstream(root / "sub" / "inside.txt") << "in";
  fs::create_symlink("sub/inside.txt", root / "good");
  fs::create_symlink("sub", root / "subling");
  fs::create_symlink("/etc", root / "etc");
  UniqueFd dir(::open(name, O_PATH | O_DIRECTORY | O_CLOEXEC));
  UniqueFd file = open_by_components(dir.get(), "sub/inside.txt", O_RDONLY);
  char text[2] = {};
  BOOST_TEST(::read(file.get(), text, 2) == 2);
  BOOST_TEST(std::string(text, 2) == "in");
  BOOST_TEST(static_cast<bool>(open_by_components(dir.get(), ".", O_RDONLY | O_DIRECTORY)));
  BOOST_TEST(static_cast<bool>(open_by_components(dir.get(), "sub/", O_RDONLY | O_DIRECTORY)));
  for (const char* bad : {"good", "subling/inside.txt", "etc/hostname", "sub/../../etc/hostname"}) {
    BOOST_CHECK_EXCEPTION(open_by_components(dir.get(), bad, O_RDONLY), std::system_error,
                          [](const std::system_error& e) {
                            int err = e.code().value();
                            return err == ELOOP || err == ENOTDIR || err == EXDEV;
                          });
  }
  BOOST_CHECK_EXCEPTION(open_by_components(dir.get(), "missing", O_RDONLY), std::system_error,
                        [](const std::system_error& e) { return e.code().value() == ENOENT; });
  fs::remove_all(root);
}

BOOST_AUTO_TEST_SUITE_END()
