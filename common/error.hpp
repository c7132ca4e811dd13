// The error types of sockserv and the exit codes of its programs.
//
// Library code throws; only `main` (through `run`) turns an exception into an exit status.
// System errors carry the call and its argument ("bind [::]:7"), as OpenBSD's err(3) does.
#pragma once

#include <sysexits.h>

#include <stdexcept>
#include <string>
#include <system_error>

namespace sockserv {

/// Throws std::system_error for the current errno, naming the call (and its argument).
[[noreturn]] void throw_errno(const std::string& what);
[[noreturn]] void throw_errno(int err, const std::string& what);

/// The peer broke the protocol (bad frame, line too long...): close that connection only.
struct ProtocolError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// A wait ran past its deadline (idle client, slow reader).
struct TimeoutError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// A message (a line, a frame header, a piece of a frame body) did not arrive whole within
/// --message-timeout of its first byte: a client trickling bytes to hold a slot (slowloris).
struct MessageTimeout : TimeoutError {
  using TimeoutError::TimeoutError;
};

/// The server is stopping and the drain time is over: the connection must end now.
struct DrainDeadlinePassed : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// A bad command line or configuration: the program exits with EX_USAGE (64).
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// An error that ends the program with a chosen sysexits code.
struct FatalError : std::runtime_error {
  FatalError(int exit_code, const std::string& message)
      : std::runtime_error(message), exit_code(exit_code) {}
  int exit_code;
};

/// True for errors that only mean "the peer went away" (EPIPE, ECONNRESET...).
bool is_peer_gone(const std::system_error& e);

}  // namespace sockserv
