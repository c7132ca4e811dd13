// run_command: runs a program for a client (cmd-server), bounded in time and in output, and
// leaves nothing running behind it.
//
// The program starts with stdin from /dev/null, stdout and stderr on pipes, every signal at
// its default disposition and none blocked (the server ignores SIGPIPE, and a forked child
// ignores SIGTERM/SIGINT; a command must not inherit that), in `/`, with exactly the
// environment it is given (the server's own may hold secrets), in a session of its own under
// a per-request reaper process (command_reaper.hpp) that kills what the command leaves
// running when it ends, and everything at the timeout. The pipes and the reaper's exit are
// waited for through an IoContext, so this works under every concurrency model.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "io.hpp"

namespace sockserv {

struct CommandLimits {
  Millis timeout{10'000};       // then everything is killed (0: no limit)
  size_t max_output = 1 << 20;  // bytes of stdout + stderr kept; the rest is read and dropped
};

struct CommandResult {
  int exit_code = -1;             // when the program exited
  int signal = 0;                 // when it was killed by a signal (then exit_code is -1)
  bool timed_out = false;         // killed because it ran past the timeout
  bool truncated = false;         // output beyond max_output was dropped
  size_t descendants_killed = 0;  // processes it left running, killed when it ended
  bool output_held = false;       // a process out of reach still held the output pipes
  std::string out;
  std::string err;
};

/// Runs `argv` with `env` ("NAME=value", the whole environment); argv[0] is looked up in the
/// PATH of `env`. Throws std::system_error when it cannot be started.
CommandResult run_command(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                          const CommandLimits& limits, IoContext& io);

/// The directory of `path` ("PATH=/usr/bin:/bin" style list) holding the executable `name`,
/// joined with it; `name` itself when it contains a '/'. Throws std::system_error (ENOENT).
std::string find_program(const std::string& name, const std::string& path);

}  // namespace sockserv
