// libFuzzer target for the options every server shares: the command line and the --config
// file (Boost.Program_options plus our own checks: counts, sizes, durations, addresses,
// models, log levels). Any words must give options or a UsageError (exit 64 in a program):
// never a crash, another exception, or a number that wrapped around.
// The first byte chooses the source: even, the rest is the command line (one word per line);
// odd, the rest is a config file given with --config.
// Build and run: make fuzz-smoke (a fixed number of runs) or make fuzz (seeds: corpus/options)
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "error.hpp"
#include "options.hpp"

namespace {

std::vector<std::string> command_line(std::string_view text) {
  std::vector<std::string> words{"fuzz-server"};
  std::istringstream lines{std::string(text)};
  for (std::string word; std::getline(lines, word);) words.push_back(word);
  return words;
}

// The config text in a memfd, named by its /proc path: no file left behind.
std::vector<std::string> config_file(std::string_view text, sockserv::UniqueFd& holder) {
  holder = sockserv::UniqueFd(::memfd_create("fuzz-config", MFD_CLOEXEC));
  if (!holder ||
      ::write(holder.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    return {"fuzz-server"};
  return {"fuzz-server", "--config", "/proc/self/fd/" + std::to_string(holder.get())};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sockserv;
  if (size == 0) return 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  UniqueFd config;
  std::vector<std::string> words =
      data[0] % 2 == 0 ? command_line(text) : config_file(text, config);
  std::vector<char*> argv;
  for (std::string& word : words) argv.push_back(word.data());
  argv.push_back(nullptr);
  ServiceInfo info{.name = "fuzz-server", .port = 7, .summary = "fuzz target"};
  po::options_description own("fuzz-server options");
  size_t max_line = 0;
  own.add_options()("max-line", po::value(&max_line), "a service option");
  po::variables_map values;
  try {
    std::optional<ServerOptions> options =
        parse_server_options(info, static_cast<int>(words.size()), argv.data(), own, values);
    if (options) {
      // What the options promise: bounded, non-wrapped numbers.
      if (options->limits.max_children > (size_t{1} << 62) ||
          options->limits.max_threads > (size_t{1} << 62))
        __builtin_trap();
    }
  } catch (const UsageError&) {
    // Bad options are refused with a usage error: the expected outcome.
  }
  return 0;
}
