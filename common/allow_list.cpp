// The allow-list of cmd-server: exact command lines and patterned arguments.
#include "allow_list.hpp"

#include <algorithm>
#include <utility>

#include "error.hpp"

namespace sockserv {
namespace {

// Words split on blanks; '...' or "..." quote blanks into a word. Backslashes are plain
// characters (a shell's escapes would eat the ones regular expressions need).
std::vector<std::string> split_entry(const std::string& entry, const char* option) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (char c : entry) {
    if (quote != 0) {
      if (c == quote)
        quote = 0;
      else
        word += c;
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == ' ' || c == '\t') {
      if (in_word) words.push_back(std::exchange(word, {}));
      in_word = false;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (quote != 0)
    throw UsageError(std::string("bad --") + option + " '" + entry + "': a quote is not closed");
  if (in_word) words.push_back(word);
  if (words.empty() || words[0].empty())
    throw UsageError(std::string("bad --") + option + " '" + entry + "': no program named");
  return words;
}

// "..", "../x", "x/..", "x/../y": the argument climbs out of wherever a pattern points.
bool has_dot_dot_component(const std::string& argument) {
  size_t start = 0;
  for (;;) {
    size_t end = argument.find('/', start);
    if (argument.compare(start, end == std::string::npos ? end : end - start, "..") == 0)
      return true;
    if (end == std::string::npos) return false;
    start = end + 1;
  }
}

}  // namespace

void AllowList::allow_exact(const std::string& entry) {
  exact_.push_back(split_entry(entry, "allow"));
}

void AllowList::allow_patterns(const std::string& entry) {
  std::vector<std::string> words = split_entry(entry, "allow-args");
  Patterned patterned{.program = words[0], .arguments = {}, .last_repeats = false};
  for (size_t i = 1; i < words.size(); ++i) {
    if (words[i] == "...") {
      if (i + 1 != words.size() || i == 1)
        throw UsageError("bad --allow-args '" + entry + "': '...' must follow the last pattern");
      patterned.last_repeats = true;
      continue;
    }
    try {
      patterned.arguments.push_back(
          {std::regex(words[i], std::regex::ECMAScript), words[i].find('/') != std::string::npos});
    } catch (const std::regex_error& e) {
      throw UsageError("bad --allow-args '" + entry + "': pattern '" + words[i] + "': " + e.what());
    }
  }
  patterned_.push_back(std::move(patterned));
}

bool AllowList::Patterned::matches(const std::vector<std::string>& argv) const {
  size_t given = argv.size() - 1;
  if (argv[0] != program) return false;
  if (last_repeats ? given + 1 < arguments.size() : given != arguments.size()) return false;
  for (size_t i = 0; i < given; ++i) {
    const Pattern& pattern = arguments[std::min(i, arguments.size() - 1)];
    const std::string& argument = argv[i + 1];
    if (argument.find('/') != std::string::npos && !pattern.allows_paths) return false;
    if (has_dot_dot_component(argument)) return false;
    if (!std::regex_match(argument, pattern.regex)) return false;
  }
  return true;
}

std::string AllowList::refusal(const std::vector<std::string>& argv) const {
  if (argv.empty()) return "empty command";
  for (const std::string& argument : argv) {
    if (argument.find('\0') != std::string::npos) return "NUL byte in an argument";
  }
  if (std::find(exact_.begin(), exact_.end(), argv) != exact_.end()) return "";
  if (std::any_of(patterned_.begin(), patterned_.end(),
                  [&](const Patterned& p) { return p.matches(argv); }))
    return "";
  auto names_program = [&](const std::string& program) { return program == argv[0]; };
  bool program_known =
      std::any_of(exact_.begin(), exact_.end(), [&](auto& e) { return names_program(e[0]); }) ||
      std::any_of(patterned_.begin(), patterned_.end(),
                  [&](auto& p) { return names_program(p.program); });
  if (program_known) return "not allowed with these arguments: " + argv[0];
  return "not allowed: " + argv[0];
}

}  // namespace sockserv
