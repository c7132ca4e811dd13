// run_command: runs a program for a client (cmd-server), bounded in time and in output.
//
// The program starts with stdin from /dev/null, stdout and stderr on pipes, every signal at
// its default disposition and none blocked (the server ignores SIGPIPE, and a forked child
// ignores SIGTERM/SIGINT; a spawned command must not inherit that), in a process group of
// its own so that a timeout kills it *and* everything it started. The pipes and the child's
// exit are waited for through an IoContext, so this works under every concurrency model.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "io.hpp"

namespace sockserv {

struct CommandLimits {
  Millis timeout{10'000};       // then the whole process group gets SIGKILL
  size_t max_output = 1 << 20;  // bytes of stdout + stderr kept; the rest is read and dropped
};

struct CommandResult {
  int exit_code = -1;      // when the program exited
  int signal = 0;          // when it was killed by a signal (then exit_code is -1)
  bool timed_out = false;  // killed because it ran past the timeout
  bool truncated = false;  // output beyond max_output was dropped
  std::string out;
  std::string err;
};

/// Runs `argv` (argv[0] looked up in PATH) with `extra_env` ("NAME=value") added to this
/// process's environment. Throws std::system_error when it cannot be started.
CommandResult run_command(const std::vector<std::string>& argv,
                          const std::vector<std::string>& extra_env, const CommandLimits& limits,
                          IoContext& io);

}  // namespace sockserv
