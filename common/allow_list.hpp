// AllowList: the command lines cmd-server may run for a client. Checking only the program
// name is not enough: `date -f /etc/passwd` prints a file through an "allowed" date. So an
// entry fixes the whole command line, or patterns every argument:
//
//   --allow 'uname -a'            exactly this argv: ["uname", "-a"] (`--allow date`: `date`
//                                 with no arguments at all)
//   --allow-args 'date \+%[a-zA-Z%:-]+'
//                                 argv[0] exactly, then one argument per pattern, each an
//                                 ECMAScript regular expression that must match all of it;
//                                 a last word `...` repeats the pattern before it (0 or more)
//
// Words are split on blanks; '...' or "..." quote a word with blanks in it; a backslash is
// a plain character (the patterns need it: `\+`, `\d`). An argument
// containing '/' matches only a pattern that itself contains a '/': a path must be allowed
// in so many words. An argument with a ".." path component never matches a pattern.
#pragma once

#include <regex>
#include <string>
#include <vector>

namespace sockserv {

class AllowList {
 public:
  /// Adds an `--allow` entry (the exact argv). Throws UsageError when it is empty.
  void allow_exact(const std::string& entry);
  /// Adds an `--allow-args` entry. Throws UsageError on an empty entry or a bad pattern.
  void allow_patterns(const std::string& entry);

  bool empty() const { return exact_.empty() && patterned_.empty(); }
  /// Why `argv` may not run ("not allowed: rm"), or "" when an entry allows it.
  std::string refusal(const std::vector<std::string>& argv) const;

 private:
  struct Pattern {
    std::regex regex;
    bool allows_paths = false;  // the pattern contains '/'
  };
  struct Patterned {
    std::string program;
    std::vector<Pattern> arguments;
    bool last_repeats = false;  // the entry ended in "..."
    bool matches(const std::vector<std::string>& argv) const;
  };
  std::vector<std::vector<std::string>> exact_;
  std::vector<Patterned> patterned_;
};

}  // namespace sockserv
