// The frame of every main(): exceptions to exit statuses, --help, --version.
#include "program.hpp"

#include <iostream>
#include <system_error>

#include "error.hpp"
#include "escape.hpp"
#include "log.hpp"

namespace sockserv {
namespace {

// A server's failure goes to the log, where its administrator looks (stderr is often the
// journal, or nothing at all under inetd); a client's goes to the user's terminal.
void report(const std::string& name, ProgramKind kind, const char* message) {
  if (kind == ProgramKind::server) {
    log_error(message);
  } else {
    // A client's error may quote its server ("server: ..."): escaped, like all it prints.
    std::cerr << name << ": " << escape_text(message, EscapeStyle::terminal) << "\n";
  }
}

}  // namespace

int run_program(const std::string& name, ProgramKind kind, const std::function<int()>& body) {
  try {
    return body();
  } catch (const UsageError& e) {
    // Always on stderr: a bad command line is read by whoever typed it, server or client.
    std::cerr << name << ": " << e.what() << " (see " << name << " --help)\n";
    return EX_USAGE;
  } catch (const FatalError& e) {
    report(name, kind, e.what());
    return e.exit_code;
  } catch (const ProtocolError& e) {
    report(name, kind, e.what());
    return EX_PROTOCOL;
  } catch (const TimeoutError& e) {
    report(name, kind, e.what());
    return EX_TEMPFAIL;
  } catch (const std::system_error& e) {
    report(name, kind, e.what());
    return kind == ProgramKind::client ? EX_UNAVAILABLE : EX_OSERR;
  } catch (const std::exception& e) {
    report(name, kind, e.what());
    return EX_SOFTWARE;
  }
}

void print_help(std::ostream& out, const std::string& name, const std::string& usage,
                const std::string& summary, const po::options_description& options) {
  out << "Usage: " << name << " " << usage << "\n" << summary << "\n\n" << options << "\n";
}

void print_version(std::ostream& out, const std::string& name) {
  out << name << " (sockserv) " << kVersion << "\n";
}

}  // namespace sockserv
