// Test harness: starts the real programs on loopback, talks to them, inspects them in /proc.
//
// Every process started here is remembered by PID and killed and reaped by its owner's
// destructor; every wait is bounded in time.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fd.hpp"
#include "io.hpp"

namespace sockserv::test {

using namespace std::chrono_literals;

/// The io helpers as a test uses them: a test waits like a client, with client_io().
inline size_t read_some(int fd, std::span<std::byte> buffer, Deadline deadline) {
  return sockserv::read_some(fd, buffer, deadline, client_io());
}
inline size_t read_full(int fd, std::span<std::byte> buffer,
                        Deadline deadline = Deadline::never()) {
  return sockserv::read_full(fd, buffer, deadline, client_io());
}
inline void write_all(int fd, std::string_view text, Deadline deadline = Deadline::never()) {
  sockserv::write_all(fd, text, deadline, client_io());
}
inline void write_all(int fd, std::span<const std::byte> data,
                      Deadline deadline = Deadline::never()) {
  sockserv::write_all(fd, data, deadline, client_io());
}

/// Every model of the table (common/models/model_table.cpp), for data-driven test cases: a
/// new model is tested by every such case without touching the tests.
std::vector<std::string> all_models();
/// The models whose connections run side by side: all but iterative (one at a time).
std::vector<std::string> concurrent_models();
/// One model per way of waiting (io_contexts.hpp), for slow tests of what only the waiting
/// decides (a deadline that takes seconds to pass): `make test` runs them under these, and
/// `make soak` (TESTS_EVERY_MODEL=1) under every model.
std::vector<std::string> one_model_per_io_context();

/// Options that let `model` serve `connections` clients at once: a pool (prefork,
/// prethread) needs that many workers, since each serves one connection at a time.
std::vector<std::string> room_for(const std::string& model, size_t connections);

/// A fresh directory /tmp/sockserv-STEM-XXXXXX (mkdtemp), removed with everything in it.
struct TempDir {
  /// A new directory below `base` (/tmp, or memory_backed_base()).
  explicit TempDir(const std::string& stem = "test", const std::string& base = "/tmp");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  /// Writes `data` to the file `name` below the directory (making its parent directories).
  void write(const std::string& name, const std::string& data) const;
  /// The whole content of the file `name` below the directory ("" if it cannot be read).
  std::string read(const std::string& name) const;
  std::filesystem::path path;
};

/// /dev/shm when it is a writable directory, else /tmp. For huge sparse files: reading a
/// hole costs the kernel a zeroed page per 4 KiB on a disk file system (4 GiB took 15 s of
/// system time on ext4 here) and almost nothing on tmpfs; tmpfs's size limit counts only
/// the blocks written, so even a small /dev/shm holds them.
std::string memory_backed_base();

/// True in a sanitizer build (make check-asan, check-tsan). There a process's memory is not
/// the program's: ASan keeps freed memory in quarantine so that a use after free is caught,
/// TSan keeps shadow memory and a history of every thread. Bounds on resident memory are
/// checked in the release build only; the sanitizers check for leaks and races themselves.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kSanitizerBuild = true;
#else
inline constexpr bool kSanitizerBuild = false;
#endif

/// How many times `needle` occurs in `text`, not overlapping (log lines, warnings).
size_t count_of(const std::string& text, const std::string& needle);

/// Path of a built program: $SOCKSERV_BIN/name (set by scripts/run-tests), else bin/name.
std::string bin_path(const std::string& name);

/// A server started in the background with its stderr captured in a temporary file.
class ServerProcess {
 public:
  /// Starts `program` with `args` and waits (up to 10 s) for one "listening on" line per
  /// --listen argument. Throws if the program exits or does not get there in time.
  /// `extra_env`: NAME=VALUE entries to set, or a bare NAME to unset. The server runs with
  /// SOCKSERV_MAX_PER_SOURCE=0 (tests crowd small pools from one address) unless unset here.
  ServerProcess(const std::string& program, std::vector<std::string> args,
                std::vector<std::string> extra_env = {});
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  pid_t pid() const { return pid_; }
  /// The real port of the i-th listening line (port 0 resolved by the kernel).
  uint16_t port(size_t i = 0) const { return ports_.at(i); }
  /// "127.0.0.1:PORT" of the i-th listener.
  std::string address(size_t i = 0) const;
  /// Everything the server has logged so far.
  std::string log() const;
  /// Waits until the log contains `needle` (true) or the timeout passes (false).
  bool wait_for_log(const std::string& needle, Millis timeout = 5000ms) const;
  /// Sends `signo` and waits for the exit; returns the exit status, or -1 (killed, timeout).
  int stop(int signo = 15, Millis timeout = 15000ms);
  bool running() const;

 private:
  pid_t pid_ = -1;
  std::string log_path_;
  std::vector<uint16_t> ports_;
};

/// The result of running a program to its end.
struct RunResult {
  int exit_code = -1;  // -1 when killed by a signal or timed out
  std::string out;
  std::string err;
};

/// Runs a program with `input` on its stdin, bounded by `timeout` (then killed), with
/// `extra_env` ("NAME=value") added to its environment.
RunResult run_program(const std::string& program, const std::vector<std::string>& args,
                      const std::string& input = "", Millis timeout = 20000ms,
                      std::vector<std::string> extra_env = {});

/// Runs one of our programs as an ordinary user would meet it: as nobody, with no
/// capabilities (setpriv), when the tests run as root, who may bind low ports and open any
/// socket file; as the current user otherwise.
RunResult run_unprivileged(const std::string& program, const std::vector<std::string>& args,
                           Millis timeout = 20000ms);

/// Connects to 127.0.0.1:port (tcp) and returns the blocking socket.
UniqueFd connect_tcp(uint16_t port);

/// A TCP listener on 127.0.0.1 (on a port the kernel picks) that never accepts: the kernel
/// completes a client's handshake into the backlog, and then nobody ever speaks.
struct SilentListener {
  SilentListener();
  UniqueFd fd;
  uint16_t port = 0;
  std::string address() const { return "127.0.0.1:" + std::to_string(port); }
};
/// A bound udp socket on 127.0.0.1 with a receive timeout, for datagram tests.
UniqueFd udp_socket();
/// Sends `payload` to 127.0.0.1:port from `socket` and returns the reply ("" on timeout).
std::string udp_exchange(int socket, uint16_t port, const std::string& payload,
                         Millis timeout = 2000ms);

/// Sends `data`, half-closes, reads everything until EOF (bounded by `timeout`).
std::string exchange(uint16_t port, const std::string& data, Millis timeout = 20000ms);
/// Reads until EOF or timeout.
std::string read_to_eof(int fd, Millis timeout = 20000ms);

/// True while `pid` exists and is not a zombie.
bool process_running(pid_t pid);
/// Children of `pid` (from /proc), zombies among them, its thread and descriptor counts.
std::vector<pid_t> children_of(pid_t pid);
size_t zombie_children(pid_t pid);
size_t thread_count(pid_t pid);
size_t fd_count(pid_t pid);
/// The sockets among the descriptors of `pid` (listeners and connections).
size_t socket_count(pid_t pid);

/// Every process below `pid`: its children, theirs, and so on (from /proc), including those
/// that left its process group or session (inetd's servers call setsid).
std::vector<pid_t> descendants_of(pid_t pid);
/// Ends `pid` and everything below it: stops the tree so that nothing forks meanwhile, kills
/// its process group and each member by PID, and reaps what was ours. Bounded in time.
void kill_tree(pid_t pid);
/// Processes the test program started that are still running. The test program is a
/// subreaper (PR_SET_CHILD_SUBREAPER, main.cpp): what a killed inetd leaves behind is
/// reparented to it instead of to init, so this sees it. Zombies among them are reaped.
std::vector<pid_t> leftover_processes();
/// "1234 (chat-server --inetd ...)" for each, for a failure message.
std::string describe_processes(const std::vector<pid_t>& pids);

/// Polls `condition` every 20 ms until true or the timeout passes.
template <typename Condition>
bool eventually(Condition condition, Millis timeout = 5000ms) {
  auto end = Clock::now() + timeout;
  for (;;) {
    if (condition()) return true;
    if (Clock::now() >= end) return false;
    struct timespec ts {
      0, 20'000'000
    };
    nanosleep(&ts, nullptr);
  }
}

/// Random bytes of the given size (deterministic for a given seed).
std::string random_bytes(size_t size, unsigned seed = 1);

}  // namespace sockserv::test
