// Helpers of the activation tests: the shipped service table, free ports, probes that tell
// whether a service answers as its RFC says, and background processes of any kind (the
// real systemd-socket-activate, inetd and xinetd) killed and reaped by PID.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "harness.hpp"

namespace sockserv::test {

/// One row of scripts/services.tsv.
struct ServiceRow {
  std::string name;  // echo-server
  std::string port;  // "7"
  bool udp = false;
  bool accept = false;
  std::string probe;  // echo, discard, chargen, daytime, time, file, cmd, chat, http
};

/// The source tree ($SOCKSERV_SOURCE, else the current directory: make runs tests there).
std::string source_dir();
/// Rows of scripts/services.tsv whose program has been built.
std::vector<ServiceRow> built_services();
/// Text of a file ("" when missing).
std::string file_text(const std::string& path);
/// Key=value lines of a unit file (the last value of a repeated key wins, except ExecStart).
std::map<std::string, std::vector<std::string>> unit_keys(const std::string& path);
/// Splits a command line on blanks (the shipped lines do not quote).
std::vector<std::string> split_words(const std::string& line, const char* blanks = " \t");

/// A tcp port on 127.0.0.1 that was free a moment ago for tcp and udp alike.
uint16_t free_port();
/// `count` such ports, all different (calls to free_port() may return the same one twice).
std::vector<uint16_t> free_ports(size_t count);

/// True when the service on `port` answers as `probe` says (tcp). `why` gets what was seen.
bool probe_tcp(const std::string& probe, uint16_t port, std::string& why);
/// The same over udp; for discard, true when no reply comes.
bool probe_udp(const std::string& probe, uint16_t port, std::string& why);

/// A background program, stderr and stdout into a temporary file, in its own process group
/// (so that what it starts can be ended with it). Killed and reaped by the destructor.
class Spawned {
 public:
  /// `stdin_fd` becomes fd 0; with `on_all_three`, fds 1 and 2 too (as inetd passes a client).
  Spawned(std::vector<std::string> argv, std::vector<std::string> env = {}, int stdin_fd = -1,
          bool on_all_three = false);
  ~Spawned();
  Spawned(const Spawned&) = delete;
  Spawned& operator=(const Spawned&) = delete;

  pid_t pid() const { return pid_; }
  std::string log() const { return file_text(log_path_); }
  bool wait_for_log(const std::string& needle, Millis timeout = 10000ms) const;
  /// Waits for the exit and returns the exit code (-1: signal or timeout, then killed).
  int wait_exit(Millis timeout = 10000ms);
  bool running() const;

 private:
  pid_t pid_ = -1;
  std::string log_path_;
};

}  // namespace sockserv::test
