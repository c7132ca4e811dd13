// AUTH PLAIN sends "\0user\0password" in base64 in one line (RFC 4616); AUTH LOGIN answers
// two 334 challenges ("Username:", "Password:") with the user and the password in base64.
// Base64 hides nothing: without TLS the password crosses the network as good as in clear.
#include "smtp_auth.hpp"

#include <netinet/in.h>
#include <sys/stat.h>
#include <sysexits.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "base64.hpp"
#include "log.hpp"

namespace sockserv {
namespace {

std::string without_line_end(std::string line) {
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

// As ssh does for a key: a password file that others can read is worth a word (sent anyway:
// the user may have reasons, and the file is theirs).
void warn_if_others_can_read(const std::string& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    log_warning("--password-file ", file, " is open to other users (mode ", mode,
                "): chmod 600 it");
  }
}

void plain(SmtpSession& session, const Credentials& credentials) {
  std::string message = std::string(1, '\0') + credentials.user + '\0' + credentials.password;
  // The initial response rides on the AUTH line itself (RFC 4954 4): one round trip.
  session.expect("AUTH PLAIN " + base64(message), 2, "AUTH PLAIN");
}

void login(SmtpSession& session, const Credentials& credentials) {
  session.expect("AUTH LOGIN", 3, "AUTH LOGIN");
  session.expect(base64(credentials.user), 3, "AUTH LOGIN (the user name)");
  session.expect(base64(credentials.password), 2, "AUTH LOGIN (the password)");
}

}  // namespace

AuthMechanism parse_auth_mechanism(std::string_view name) {
  std::string lower(name);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "auto") return AuthMechanism::automatic;
  if (lower == "plain") return AuthMechanism::plain;
  if (lower == "login") return AuthMechanism::login;
  throw UsageError("--auth takes plain, login or auto, not '" + std::string(name) + "'");
}

std::string read_password(const std::string& file, const std::string& variable) {
  std::string password;
  if (!file.empty()) {
    warn_if_others_can_read(file);
    std::ifstream in(file);
    if (!in)
      throw FatalError(EX_NOINPUT,
                       "cannot read --password-file " + file + ": " + std::strerror(errno));
    std::getline(in, password);
    password = without_line_end(password);
    if (password.empty()) throw UsageError("--password-file " + file + ": its first line is empty");
  } else {
    const char* value = std::getenv(variable.c_str());
    if (value == nullptr)
      throw FatalError(EX_NOINPUT,
                       "no password: --user needs --password-file FILE or the "
                       "environment variable " +
                           variable);
    password = value;
    if (password.empty()) throw UsageError("the environment variable " + variable + " is empty");
  }
  if (password.find('\0') != std::string::npos)
    throw UsageError("the password holds a NUL byte, which AUTH PLAIN cannot carry");
  return password;
}

bool is_loopback(const SocketAddress& address) {
  if (address.family() == AF_UNIX) return true;
  if (address.family() == AF_INET) {
    const auto* in4 = reinterpret_cast<const sockaddr_in*>(&address.storage);
    return (ntohl(in4->sin_addr.s_addr) >> 24) == 127;
  }
  if (address.family() == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&address.storage);
    return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr) ||
           (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && in6->sin6_addr.s6_addr[12] == 127);
  }
  return false;
}

void refuse_auth_in_clear(const std::vector<SocketAddress>& server, bool allowed) {
  for (const SocketAddress& address : server) {
    if (allowed || is_loopback(address)) continue;
    throw FatalError(EX_NOPERM, "refusing AUTH to " + to_string(address) +
                                    " over a plain connection: the password would cross the "
                                    "network in clear (--allow-plaintext-auth to accept that)");
  }
}

void authenticate(SmtpSession& session, const SmtpExtensions& extensions,
                  const Credentials& credentials, AuthMechanism mechanism) {
  if (!extensions.extended)
    throw FatalError(EX_UNAVAILABLE, "the server did not answer EHLO, so it offers no AUTH");
  if (mechanism == AuthMechanism::automatic) {
    if (extensions.offers_auth("PLAIN")) {
      mechanism = AuthMechanism::plain;
    } else if (extensions.offers_auth("LOGIN")) {
      mechanism = AuthMechanism::login;
    } else {
      throw FatalError(EX_UNAVAILABLE, extensions.auth.empty()
                                           ? "the server offers no AUTH"
                                           : "the server offers neither AUTH PLAIN nor LOGIN");
    }
  }
  if (mechanism == AuthMechanism::plain) {
    plain(session, credentials);
  } else {
    login(session, credentials);
  }
}

}  // namespace sockserv
