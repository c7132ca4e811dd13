// SMTP authentication (RFC 4954) with the PLAIN (RFC 4616) and LOGIN mechanisms, and where
// the password comes from: a file or an environment variable, never the command line (any
// user on the machine can read another's command line in /proc or ps).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "address.hpp"
#include "smtp.hpp"

namespace sockserv {

/// The mechanism to use: the best the server offers (PLAIN, then LOGIN) or the one named.
enum class AuthMechanism { automatic, plain, login };

/// "plain", "login" or "auto" (any letter case); throws UsageError otherwise.
AuthMechanism parse_auth_mechanism(std::string_view name);

struct Credentials {
  std::string user;
  std::string password;
};

/// The password: the first line of `file` when `file` is not empty, else the value of the
/// environment variable `variable`. Throws FatalError (EX_NOINPUT, 66) when the file cannot
/// be read or the variable is unset, and UsageError when the password is empty or holds NUL.
std::string read_password(const std::string& file, const std::string& variable);

/// True for 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104, and unix sockets: traffic that never
/// leaves the machine.
bool is_loopback(const SocketAddress& address);

/// Throws FatalError (EX_NOPERM, 77) unless every address of the server is a loopback one
/// or `allowed` (--allow-plaintext-auth): base64 hides nothing, and AUTH without TLS shows
/// the password to every network on the way.
void refuse_auth_in_clear(const std::vector<SocketAddress>& server, bool allowed);

/// Logs in with `credentials`. Throws SmtpRefusal (535: wrong password, exit 77), or
/// FatalError when the server offers no mechanism we speak.
void authenticate(SmtpSession& session, const SmtpExtensions& extensions,
                  const Credentials& credentials, AuthMechanism mechanism);

}  // namespace sockserv
