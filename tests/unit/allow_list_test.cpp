// cmd-server's allow-list without sockets: exact command lines, patterned arguments, paths.
#include "allow_list.hpp"

#include <boost/test/unit_test.hpp>

#include "error.hpp"

using namespace sockserv;

namespace {

using Argv = std::vector<std::string>;

AllowList with(const Argv& exact, const Argv& patterns) {
  AllowList list;
  for (const std::string& e : exact) list.allow_exact(e);
  for (const std::string& p : patterns) list.allow_patterns(p);
  return list;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(allow_list)

BOOST_AUTO_TEST_CASE(an_exact_entry_allows_that_argv_and_nothing_else) {
  AllowList list = with({"uname -a", "date"}, {});
  BOOST_TEST(list.refusal({"uname", "-a"}) == "");
  BOOST_TEST(list.refusal({"date"}) == "");
  BOOST_TEST(list.refusal({"uname"}) == "not allowed with these arguments: uname");
  BOOST_TEST(list.refusal({"uname", "-a", "-r"}) != "");
  BOOST_TEST(list.refusal({"date", "-f", "/etc/passwd"}) ==
             "not allowed with these arguments: date");
  BOOST_TEST(list.refusal({"date", "-fpasswd"}) != "");
  BOOST_TEST(list.refusal({"/bin/date"}) == "not allowed: /bin/date");
  BOOST_TEST(list.refusal({"rm", "-rf", "/"}) == "not allowed: rm");
}

BOOST_AUTO_TEST_CASE(words_are_split_on_blanks_and_quotes_keep_them) {
  AllowList list = with({"echo  'hello world' \"a b\" c\\d ''"}, {});
  BOOST_TEST(list.refusal({"echo", "hello world", "a b", "c\\d", ""}) == "");
  BOOST_TEST(list.refusal({"echo", "hello", "world", "a", "b", "c\\d", ""}) != "");
  BOOST_CHECK_THROW(list.allow_exact("echo 'open"), UsageError);
}

BOOST_AUTO_TEST_CASE(patterns_match_whole_arguments_one_each) {
  AllowList list = with({}, {"date \\+%[a-zA-Z]+"});
  BOOST_TEST(list.refusal({"date", "+%Y"}) == "");
  BOOST_TEST(list.refusal({"date", "x+%Y"}) != "", "a pattern matches the whole argument");
  BOOST_TEST(list.refusal({"date"}) != "", "one argument per pattern");
  BOOST_TEST(list.refusal({"date", "+%Y", "+%m"}) != "");
}

BOOST_AUTO_TEST_CASE(three_dots_repeat_the_last_pattern) {
  AllowList list = with({}, {"echo -n [a-z]+ ..."});
  BOOST_TEST(list.refusal({"echo", "-n"}) == "", "zero repetitions");
  BOOST_TEST(list.refusal({"echo", "-n", "a", "bc", "def"}) == "");
  BOOST_TEST(list.refusal({"echo", "-n", "a", "B"}) != "");
  BOOST_TEST(list.refusal({"echo"}) != "", "the patterns before the last are required");
}

BOOST_AUTO_TEST_CASE(a_path_needs_a_pattern_that_says_so) {
  AllowList list = with({}, {"date -f .*", "head -c [0-9]+ /dev/(zero|urandom)"});
  BOOST_TEST(list.refusal({"date", "-f", "/etc/passwd"}) != "", ".* does not match a '/'");
  BOOST_TEST(list.refusal({"date", "-f", "../etc/passwd"}) != "");
  BOOST_TEST(list.refusal({"head", "-c", "10", "/dev/zero"}) == "");
  BOOST_TEST(list.refusal({"head", "-c", "10", "/dev/null"}) != "");
  AllowList under = with({}, {"ls /srv/pub/.*"});
  BOOST_TEST(under.refusal({"ls", "/srv/pub/a/b"}) == "");
  BOOST_TEST(under.refusal({"ls", "/srv/pub/../../etc"}) != "", "never a '..' component");
  BOOST_TEST(under.refusal({"ls", "/srv/pub/.."}) != "");
  BOOST_TEST(under.refusal({"ls", "/srv/pub/..x"}) == "", "'..x' is a name, not a climb");
}

BOOST_AUTO_TEST_CASE(nul_bytes_and_empty_commands_are_refused) {
  AllowList list = with({"echo"}, {"echo .*"});
  BOOST_TEST(list.refusal({}) == "empty command");
  BOOST_TEST(list.refusal({"echo", std::string("a\0b", 3)}) == "NUL byte in an argument");
}

BOOST_AUTO_TEST_CASE(bad_entries_are_usage_errors) {
  AllowList list;
  BOOST_CHECK_THROW(list.allow_exact(""), UsageError);
  BOOST_CHECK_THROW(list.allow_exact("''"), UsageError);
  BOOST_CHECK_THROW(list.allow_patterns("date ["), UsageError);
  BOOST_CHECK_THROW(list.allow_patterns("date ..."), UsageError);
  BOOST_CHECK_THROW(list.allow_patterns("date a ... b"), UsageError);
  BOOST_TEST(list.empty());
}

BOOST_AUTO_TEST_SUITE_END()
