// The client side of an SMTP conversation (RFC 5321): the greeting, EHLO (HELO when the
// server does not know EHLO), MAIL FROM, RCPT TO, DATA with its dot-stuffing, and QUIT.
//
// Every reply is read with a deadline and parsed with the bounded parser of smtp_reply.hpp.
// A reply that refuses a step ends the conversation with an SmtpRefusal that names the step
// and quotes the server's code and text (escaped: the text is the server's to choose).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client_stream.hpp"
#include "error.hpp"
#include "fd.hpp"
#include "io.hpp"
#include "smtp_reply.hpp"
#include "tls_client.hpp"

namespace sockserv {

/// A server refused a step. Its exit status is sysexits': 75 (EX_TEMPFAIL) for a 4xx reply
/// (try again later), 77 (EX_NOPERM) for a refused authentication (530, 534, 535), 69
/// (EX_UNAVAILABLE) for any other 5xx. The message quotes the reply's code and text.
struct SmtpRefusal : FatalError {
  SmtpRefusal(std::string_view step, const SmtpReply& reply);
  SmtpReply reply;
};

/// One SMTP connection: sends commands and reads their replies, each within `timeout`.
class SmtpSession {
 public:
  /// Takes a connected, non-blocking socket. `timeout` bounds each wait (0: no limit).
  SmtpSession(UniqueFd socket, Millis timeout);

  /// The next reply. Throws ProtocolError (malformed reply, connection closed) or TimeoutError.
  SmtpReply read_reply();
  /// Sends `line` and CRLF, returns the reply.
  SmtpReply command(std::string_view line);
  /// command(), then throws SmtpRefusal naming `step` unless the reply's class is
  /// `expected_kind` (2: done, 3: go on). `step` is what the user sees: for AUTH it must not
  /// be the line itself, which carries the password.
  SmtpReply expect(std::string_view line, int expected_kind, std::string_view step);
  /// Sends `data` as it is, in pieces that must each go out within the timeout.
  void send(std::string_view data);
  /// Says QUIT and waits briefly for the answer; never throws (the conversation is over).
  void quit_quietly() noexcept;
  /// Runs the TLS handshake on the connection (SMTPS at once; STARTTLS after its 220),
  /// checking the certificate against `host`. Throws ProtocolError when the server sent more
  /// than its reply before the handshake: bytes that came in clear must not be taken as if
  /// they had come over TLS (the STARTTLS command injection of CVE-2011-0411).
  void start_tls(const TlsClientContext& context, const std::string& host);
  bool encrypted() const { return stream_.encrypted(); }
  int socket() const { return stream_.socket(); }

 private:
  ClientStream stream_;
  Millis timeout_;
  std::string received_;  // bytes read but not yet parsed into a reply
};

/// What the server's EHLO reply offers (RFC 5321 4.1.1.1; AUTH: RFC 4954; SIZE: RFC 1870).
struct SmtpExtensions {
  bool extended = false;               // EHLO was answered (false: HELO)
  std::vector<std::string> auth;       // SASL mechanisms, upper case
  std::optional<uint64_t> size_limit;  // SIZE: the largest message taken (0: no limit given)
  bool starttls = false;               // STARTTLS (RFC 3207) is offered
  bool offers_auth(std::string_view mechanism) const;
};

/// The extensions in an EHLO reply: its lines after the first, one keyword and its
/// parameters each.
SmtpExtensions parse_ehlo_reply(const SmtpReply& reply);

/// Throws UsageError unless `name` is empty or a domain or address literal fit for EHLO:
/// letters, digits and "-.:[]" only (anything else could end the command early).
void check_client_name(std::string_view name);

/// Reads the greeting (220) and says EHLO `client_name`, or HELO when EHLO gets a 5xx.
SmtpExtensions greet(SmtpSession& session, const std::string& client_name);

/// STARTTLS (RFC 3207): asks for TLS, runs the handshake after the 220 and says EHLO again,
/// returning what the server offers now (it may differ: AUTH is often offered only over
/// TLS). Throws FatalError (69) when `extensions` has no STARTTLS, before sending anything,
/// SmtpRefusal when the server refuses it, TlsError when the handshake fails.
SmtpExtensions start_tls(SmtpSession& session, const SmtpExtensions& extensions,
                         const TlsClientContext& context, const std::string& host,
                         const std::string& client_name);

/// The envelope: who sends, who receives (plain addresses, without angle brackets).
struct Envelope {
  std::string from;
  std::vector<std::string> to;
};

/// MAIL FROM, one RCPT TO per recipient, DATA, the message (dot-stuffed) and its end.
/// Throws SmtpRefusal at the first step refused (nothing is sent unless all recipients
/// are taken). Returns the server's reply to the message (250, often with a queue id).
SmtpReply send_message(SmtpSession& session, const SmtpExtensions& extensions,
                       const Envelope& envelope, std::string_view message);

/// The message as DATA sends it (RFC 5321 4.5.2): a '.' doubled at the start of every line,
/// so no line of the message can end the data early, then the end mark ".\r\n". `message`
/// has CRLF line ends; a last line without one gets one.
std::string dot_stuffed(std::string_view message);

}  // namespace sockserv
