// mail-client: sends one mail over SMTP (RFC 5321), the body from stdin, files attached as
// MIME parts (RFC 2045-2049), as the tutorial's smtplib script does (seed 002).
//
// Everything is read and built before connecting (a slow stdin holds no connection open).
// The password comes from --password-file or an environment variable, never the command
// line, and is sent without TLS only to a loopback server unless --allow-plaintext-auth.
// --starttls upgrades the connection (RFC 3207) and --smtps speaks TLS from the start
// (RFC 8314, port 465); either checks the server's certificate (docs/tls.md), and with
// --starttls a server that does not offer it gets nothing, neither password nor mail.
// Any refusal by the server ends the program non-zero with the server's code and text.
//
// Try it:   python3 tests/peers/smtp_sink.py /tmp/mail &       (prints its port)
//           echo Hello | mail-client --server 127.0.0.1:PORT --from a@example.org
//                            --to b@example.org --subject Hi --attach notes.txt
#include <sysexits.h>
#include <unistd.h>

#include <ctime>
#include <iostream>
#include <optional>

#include "client.hpp"
#include "escape.hpp"
#include "mail_input.hpp"
#include "mime.hpp"
#include "options.hpp"
#include "smtp_auth.hpp"
#include "socket.hpp"
#include "timed_connect.hpp"
#include "tls_client.hpp"

using namespace sockserv;

namespace {

std::vector<Mailbox> mailboxes(const po::variables_map& values, const std::string& option) {
  std::vector<Mailbox> list;
  for (const std::string& text : values[option].as<std::vector<std::string>>())
    list.push_back(parse_mailbox(text, "--" + option));
  return list;
}

MailContent gather_content(const po::variables_map& values, uint64_t limit) {
  MailContent content;
  content.from = parse_mailbox(values["from"].as<std::string>(), "--from");
  content.to = mailboxes(values, "to");
  content.cc = mailboxes(values, "cc");
  content.subject = values["subject"].as<std::string>();
  for (const std::string& path : values["attach"].as<std::vector<std::string>>())
    content.attachments.push_back(read_attachment(path, limit));
  content.body = read_bounded(STDIN_FILENO, limit, "the body on stdin");
  return content;
}

std::optional<Credentials> credentials_of(const po::variables_map& values) {
  if (values.count("user") == 0U) return std::nullopt;
  return Credentials{values["user"].as<std::string>(),
                     read_password(values["password-file"].as<std::string>(),
                                   values["password-env"].as<std::string>())};
}

// EHLO's argument: --ehlo, else our own address as an address literal (RFC 5321 4.1.3),
// which needs no DNS name for this machine.
std::string client_name(const po::variables_map& values, int socket) {
  std::string name = values["ehlo"].as<std::string>();
  if (!name.empty()) return name;
  SocketAddress local = local_address(socket);
  if (local.family() == AF_INET) return "[" + host_of(local) + "]";
  if (local.family() == AF_INET6) return "[IPv6:" + host_of(local) + "]";
  return "localhost";
}

// TLS as asked: --smtps at once, --starttls after the greeting; returns what the server
// offers on the connection the mail will go over.
SmtpExtensions open_session(SmtpSession& session, const po::variables_map& values,
                            const TlsClientContext* tls, const std::string& tls_name,
                            const std::string& name) {
  if (values["smtps"].as<bool>()) session.start_tls(*tls, tls_name);
  SmtpExtensions extensions = greet(session, name);
  if (values["starttls"].as<bool>())
    extensions = start_tls(session, extensions, *tls, tls_name, name);
  return extensions;
}

int send_mail(const po::variables_map& values) {
  bool starttls = values["starttls"].as<bool>(), smtps = values["smtps"].as<bool>();
  if (starttls && smtps) throw UsageError("--starttls or --smtps: one way to TLS, not both");
  auto tls = tls_context_for(tls_client_settings(values, starttls || smtps));
  Millis timeout = seconds_option(values["timeout"].as<double>(), "timeout");
  uint64_t limit = values["max-size"].as<uint64_t>();
  AuthMechanism mechanism = parse_auth_mechanism(values["auth"].as<std::string>());
  Endpoint server = parse_endpoint(values["server"].as<std::string>());
  if (!is_stream(server.transport)) throw UsageError("--server: SMTP needs tcp (or unix:PATH)");
  check_client_name(values["ehlo"].as<std::string>());
  std::optional<Credentials> credentials = credentials_of(values);
  MailContent content = gather_content(values, limit);
  std::string message = build_message(content, std::time(nullptr));
  if (message.size() > limit)
    throw FatalError(EX_DATAERR, "the message is " + std::to_string(message.size()) +
                                     " bytes encoded, more than --max-size (" +
                                     std::to_string(limit) + ")");
  Envelope envelope{content.from.address, {}};
  for (const auto& list : {content.to, content.cc, mailboxes(values, "bcc")})
    for (const Mailbox& mailbox : list) envelope.to.push_back(mailbox.address);

  std::vector<SocketAddress> addresses = addresses_of(server);
  if (credentials && !tls)
    refuse_auth_in_clear(addresses, values["allow-plaintext-auth"].as<bool>());
  UniqueFd socket = connect_within(addresses, to_string(server), timeout);
  std::string name = client_name(values, socket.get());
  SmtpSession session(std::move(socket), timeout);
  try {
    SmtpExtensions extensions = open_session(session, values, tls.get(), server.host, name);
    if (credentials) authenticate(session, extensions, *credentials, mechanism);
    SmtpReply accepted = send_message(session, extensions, envelope, message);
    std::cout << client_text(accepted.describe()) << std::endl;
  } catch (const FatalError&) {  // refused, or no STARTTLS: still a polite end
    session.quit_quietly();      // a polite end: the server need not log a lost connection
    throw;
  }
  session.quit_quietly();
  return EX_OK;
}

}  // namespace

int main(int argc, char** argv) {
  po::options_description options("mail-client options");
  options.add_options()("server", po::value<std::string>()->required(), "SMTP server HOST:PORT")(
      "from", po::value<std::string>()->required(), "sender: ADDR or 'Name <ADDR>'")(
      "to", po::value<std::vector<std::string>>()->required(), "recipient (repeatable)")(
      "cc", po::value<std::vector<std::string>>()->default_value({}, ""),
      "copy to (repeatable; in the Cc header)")(
      "bcc", po::value<std::vector<std::string>>()->default_value({}, ""),
      "blind copy to (repeatable; in no header)")("subject,s", po::value<std::string>()->required(),
                                                  "subject (UTF-8)")(
      "attach,a", po::value<std::vector<std::string>>()->default_value({}, ""),
      "attach FILE (repeatable)")("user", po::value<std::string>(), "log in (AUTH) as NAME")(
      "password-file", po::value<std::string>()->default_value(""),
      "with --user: the password is the first line of FILE")(
      "password-env", po::value<std::string>()->default_value("SMTP_PASSWORD"),
      "with --user and no --password-file: the variable that holds the password")(
      "auth", po::value<std::string>()->default_value("auto"),
      "plain, login, or auto (PLAIN if offered, else LOGIN)")(
      "allow-plaintext-auth", po::bool_switch(),
      "allow AUTH without TLS to a server that is not on this machine")(
      "starttls", po::bool_switch(),
      "upgrade to TLS with STARTTLS before anything else (exits 69, sending no password and "
      "no mail, if the server does not offer it)")(
      "smtps", po::bool_switch(), "TLS from the first byte (SMTPS, usually port 465)")(
      "ehlo", po::value<std::string>()->default_value(""),
      "name to give in EHLO (default: our address, [127.0.0.1])")(
      "timeout", non_negative<double>()->default_value(60),
      "seconds for the connect and for each reply (0: no limit)")(
      "max-size", non_negative<uint64_t>()->default_value(25 << 20),
      "largest body, attachment and encoded message in bytes");
  add_tls_client_options(options, false);
  po::positional_options_description positional;
  return run_client(
      {"mail-client", "--server HOST:PORT --from A --to B [--to C] --subject S [--attach FILE]...",
       "Sends the text on stdin as a mail over SMTP. There is no password option: the password\n"
       "comes from --password-file or $SMTP_PASSWORD (see --password-env). Exit status: 0 sent,\n"
       "64 usage, 65 too large, 66 unreadable input, 69 refused (5xx), unreachable, no\n"
       "STARTTLS or TLS certificate refused, 75 try later (4xx) or timeout, 76 not SMTP, 77\n"
       "authentication refused."},
      argc, argv, options, positional, send_mail);
}
