// The three places options come from (command line, SOCKSERV_* variables, a --config file)
// and the checks all three share: every number is a count, a size, a duration, a rate or a
// pid, so a negative or non-finite one is refused here, once, for every option of every
// program; an unknown name is an error wherever it is written; and an error about a config
// file names its line, never its content (--config /etc/shadow must not print a hash).
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <set>
#include <typeindex>

#include "error.hpp"
#include "options.hpp"

namespace sockserv {
namespace {

// Boost names the option and the token in the message (store() fills in the option's name).
struct BadNumber : po::validation_error {
  BadNumber(const std::string& option, const std::string& token, const char* why)
      : po::validation_error(po::validation_error::invalid_option_value) {
    m_error_template =
        std::string("the argument ('%value%') for option '%canonical_option%' ") + why;
    set_substitute("value", token);
    set_option_name(option);
    set_prefix(po::command_line_style::allow_long);  // "--max-children", from any source
  }
};

bool is_number(const std::type_info& type) {
  static const std::set<std::type_index> kNumbers = {
      typeid(short), typeid(unsigned short), typeid(int),       typeid(unsigned),
      typeid(long),  typeid(unsigned long),  typeid(long long), typeid(unsigned long long),
      typeid(float), typeid(double)};
  return kNumbers.count(type) != 0U;
}

// Boost would read "-1" for an unsigned option as 18446744073709551615 without a word, so
// "--max-children -1" meant "no limit"; "inf" or "nan" given to a time is no better.
void check_number_token(const std::string& option, const std::string& token, bool floating) {
  size_t first = token.find_first_not_of(" \t");
  if (first != std::string::npos && token[first] == '-')
    throw BadNumber(option, token, "must not be negative");
  if (floating) {
    char* end = nullptr;
    double value = std::strtod(token.c_str(), &end);
    if (end != token.c_str() && !std::isfinite(value))
      throw BadNumber(option, token, "must be a finite number");
  }
}

/// Checks every numeric value among `parsed`, whatever its option was declared with.
void check_numbers(const po::parsed_options& parsed) {
  for (const po::option& option : parsed.options) {
    if (option.unregistered || option.string_key.empty()) continue;
    const po::option_description* description =
        parsed.description->find_nothrow(option.string_key, false);
    if (description == nullptr) continue;
    const auto* typed = dynamic_cast<const po::typed_value_base*>(description->semantic().get());
    if (typed == nullptr || !is_number(typed->value_type())) continue;
    bool floating = typed->value_type() == typeid(double) || typed->value_type() == typeid(float);
    for (const std::string& token : option.value)
      check_number_token(option.string_key, token, floating);
  }
}

void store_checked(const po::parsed_options& parsed, po::variables_map& values) {
  check_numbers(parsed);
  po::store(parsed, values);
}

// Variables sockserv's own tools set that are not options: cmd-server gives its commands
// SOCKSERV_PEER and SOCKSERV_SUBJECT; the test scripts use BIN, SOURCE and PEERS;
// scripts/haproxy/haproxy.cfg reads HAPROXY_ADMIN, ECHO_* and CHAT_* (no option starts with echo-
// or chat-). Any other SOCKSERV_ name is a typo.
bool is_tool_variable(const std::string& name) {
  static const std::set<std::string> kTools = {"PEER",   "SUBJECT", "BIN",
                                               "SOURCE", "PEERS",   "HAPROXY_ADMIN"};
  return kTools.count(name) != 0U || name.rfind("ECHO_", 0) == 0 || name.rfind("CHAT_", 0) == 0;
}

// SOCKSERV_MAX_CHILDREN -> "max-children"; other variables are not ours.
std::function<std::string(std::string)> environment_mapper(const po::options_description& desc) {
  return [&desc](std::string variable) -> std::string {
    const std::string prefix = "SOCKSERV_";
    if (variable.rfind(prefix, 0) != 0) return "";
    std::string suffix = variable.substr(prefix.size());
    if (is_tool_variable(suffix)) return "";
    std::string name = suffix;
    for (char& c : name)
      c = c == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (name == "help" || name == "version")
      throw UsageError(variable + ": --" + name + " is a command-line option only");
    if (desc.find_nothrow(name, false) == nullptr)
      throw UsageError("unknown variable " + variable + ": this program has no --" + name);
    return name;
  };
}

std::string trimmed(const std::string& text) {
  size_t first = text.find_first_not_of(" \t\r");
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(" \t\r") - first + 1);
}

// One "name = value" line, stored on its own so that an error can name its line. Boost's own
// config parser quotes the offending line, which would put a secret file into the log.
void store_config_line(const std::string& name, const std::string& value,
                       const po::options_description& desc, po::variables_map& values) {
  po::parsed_options parsed(&desc);
  po::option option(name, {value});
  option.original_tokens = {name, value};
  parsed.options.push_back(option);
  store_checked(parsed, values);
}

void store_config_file(const std::string& path, const po::options_description& desc,
                       po::variables_map& values) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
    throw UsageError("--config " + path + " is a directory, not a file");
  std::ifstream file(path);
  if (!file) throw UsageError("cannot read --config file " + path + ": " + std::strerror(errno));
  std::set<std::string> seen;
  std::string section;
  std::string line;
  for (size_t number = 1; std::getline(file, line); ++number) {
    std::string where = "--config " + path + ", line " + std::to_string(number) + ": ";
    std::string text = trimmed(line.substr(0, line.find('#')));
    if (text.empty()) continue;
    if (text.front() == '[' && text.back() == ']') {  // [section]: its names are "section.name"
      section = trimmed(text.substr(1, text.size() - 2)) + ".";
      continue;
    }
    size_t equals = text.find('=');
    if (equals == std::string::npos) throw UsageError(where + "not a 'name = value' line");
    std::string name = section + trimmed(text.substr(0, equals));
    const po::option_description* description = desc.find_nothrow(name, false);
    if (description == nullptr || name == "config" || name == "help" || name == "version")
      throw UsageError(where + "not an option of this program (see --help)");
    if (!seen.insert(name).second && !description->semantic()->is_composing())
      throw UsageError(where + "--" + name + " is set on an earlier line too");
    try {
      store_config_line(name, trimmed(text.substr(equals + 1)), desc, values);
    } catch (const po::error&) {
      throw UsageError(where + "bad value for --" + name);
    }
  }
  if (file.bad()) throw UsageError("cannot read --config file " + path);
}

// Boost.Program_options writes the user's text in place of %value%, %option% and the like in
// its error messages, again and again until none is left: a value that itself holds such a
// placeholder ("--max-children 'x%value%'") never ends, a hang with memory growing (found by
// tests/fuzz/options_fuzz.cpp). Boost builds a message only when no word of the command line
// and no SOCKSERV_ variable holds a '%' (config file errors never quote the file).
bool holds_percent(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strchr(argv[i], '%') != nullptr) return true;
  }
  for (char** variable = environ; *variable != nullptr; ++variable) {
    if (std::strncmp(*variable, "SOCKSERV_", 9) == 0 && std::strchr(*variable, '%') != nullptr)
      return true;
  }
  return false;
}

UsageError usage_error(const po::error& e, int argc, char** argv) {
  if (!holds_percent(argc, argv)) return UsageError(e.what());
  const auto* named = dynamic_cast<const po::error_with_option_name*>(&e);
  if (named != nullptr && !named->get_option_name().empty() &&
      named->get_option_name().find('%') == std::string::npos) {
    return UsageError("bad value or name for option '" + named->get_option_name() + "'");
  }
  return UsageError("a bad option or value (a word or SOCKSERV_ variable holding '%')");
}

}  // namespace

void parse_all_sources(int argc, char** argv, const po::options_description& visible,
                       const po::positional_options_description* positional,
                       po::variables_map& values) {
  try {
    po::command_line_parser parser(argc, argv);
    parser.options(visible);
    if (positional != nullptr) parser.positional(*positional);
    store_checked(parser.run(), values);
    // --help, --version and --list-models answer whatever else is wrong (a required option
    // such as file-server's --root missing, a bad variable in the environment).
    for (const char* answer_only : {"help", "version", "list-models"})
      if (values.count(answer_only) != 0U) return;
    store_checked(po::parse_environment(visible, environment_mapper(visible)), values);
    if (values.count("config") != 0U)
      store_config_file(values["config"].as<std::string>(), visible, values);
    po::notify(values);
  } catch (const po::error& e) {
    throw usage_error(e, argc, argv);
  }
}

}  // namespace sockserv
