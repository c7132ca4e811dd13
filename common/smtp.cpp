// An SMTP client conversation over one socket. Try it against a real server:
//   python3 tests/peers/smtp_sink.py /tmp/mail &    (prints its port)
//   echo hi | mail-client --server 127.0.0.1:PORT --from a@example.org --to b@example.org -s hi
#include "smtp.hpp"

#include <sysexits.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <sstream>

#include "escape.hpp"

namespace sockserv {
namespace {

int exit_status_of(const SmtpReply& reply) {
  if (reply.kind() == 4) return EX_TEMPFAIL;
  if (reply.code == 530 || reply.code == 534 || reply.code == 535) return EX_NOPERM;
  return EX_UNAVAILABLE;
}

std::string refusal_text(std::string_view step, const SmtpReply& reply) {
  std::ostringstream text;
  text << "server refused " << step << ": " << client_text(reply.describe());
  return text.str();
}

std::string upper(std::string_view word) {
  std::string text(word);
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

// The words of an EHLO line, split on spaces: a keyword and its parameters.
std::vector<std::string_view> words_of(std::string_view line) {
  std::vector<std::string_view> words;
  while (!line.empty()) {
    size_t start = line.find_first_not_of(' ');
    if (start == std::string_view::npos) break;
    line.remove_prefix(start);
    size_t end = std::min(line.find(' '), line.size());
    words.push_back(line.substr(0, end));
    line.remove_prefix(end);
  }
  return words;
}

// read_some, with a timeout that says what we waited for.
size_t receive(ClientStream& stream, std::span<std::byte> buffer, Deadline deadline) {
  try {
    return stream.read_some(buffer, deadline);
  } catch (const TimeoutError&) {
    throw TimeoutError("no reply from the server within --timeout");
  }
}

// Pieces of DATA: each must be taken by the kernel within the timeout (progress, not total).
constexpr size_t kSendPiece = 64 * 1024;

}  // namespace

SmtpRefusal::SmtpRefusal(std::string_view step, const SmtpReply& reply)
    : FatalError(exit_status_of(reply), refusal_text(step, reply)), reply(reply) {}

SmtpSession::SmtpSession(UniqueFd socket, Millis timeout)
    : stream_(std::move(socket), timeout), timeout_(timeout) {}

void SmtpSession::start_tls(const TlsClientContext& context, const std::string& host) {
  if (!received_.empty())
    throw ProtocolError("the server sent more than its reply before the TLS handshake");
  stream_.start_tls(context, host);
}

SmtpReply SmtpSession::read_reply() {
  Deadline deadline = Deadline::after_or_never(timeout_);
  for (;;) {
    SmtpReplyParse parse = parse_smtp_reply(received_);
    if (parse.status == SmtpReplyParse::Status::complete) {
      received_.erase(0, parse.length);
      return parse.reply;
    }
    if (parse.status == SmtpReplyParse::Status::malformed)
      throw ProtocolError("the server sent " + parse.error + ", not an SMTP reply");
    char buffer[4096];
    size_t n = receive(stream_, std::as_writable_bytes(std::span(buffer)), deadline);
    if (n == 0) throw ProtocolError("the server closed the connection");
    received_.append(buffer, n);
  }
}

SmtpReply SmtpSession::command(std::string_view line) {
  send(std::string(line) + "\r\n");
  return read_reply();
}

SmtpReply SmtpSession::expect(std::string_view line, int expected_kind, std::string_view step) {
  SmtpReply reply = command(line);
  if (reply.kind() != expected_kind) throw SmtpRefusal(step, reply);
  return reply;
}

void SmtpSession::send(std::string_view data) {
  for (size_t at = 0; at < data.size(); at += kSendPiece) {
    stream_.write_all(as_bytes(data.substr(at, kSendPiece)), Deadline::after_or_never(timeout_));
  }
}

void SmtpSession::quit_quietly() noexcept {
  try {
    timeout_ = std::min(timeout_ == Millis(0) ? Millis(2000) : timeout_, Millis(2000));
    command("QUIT");
  } catch (const std::exception&) {  // the server may already have closed: nothing to do
  }
}

bool SmtpExtensions::offers_auth(std::string_view mechanism) const {
  return std::find(auth.begin(), auth.end(), mechanism) != auth.end();
}

SmtpExtensions parse_ehlo_reply(const SmtpReply& reply) {
  SmtpExtensions extensions;
  extensions.extended = true;
  for (size_t i = 1; i < reply.lines.size(); ++i) {
    std::vector<std::string_view> words = words_of(reply.lines[i]);
    if (words.empty()) continue;
    std::string keyword = upper(words[0]);
    if (keyword == "AUTH") {
      for (size_t k = 1; k < words.size(); ++k) extensions.auth.push_back(upper(words[k]));
    } else if (keyword == "SIZE") {
      uint64_t limit = 0;
      if (words.size() > 1)
        std::from_chars(words[1].data(), words[1].data() + words[1].size(), limit);
      extensions.size_limit = limit;
    } else if (keyword == "STARTTLS") {
      extensions.starttls = true;
    }
  }
  return extensions;
}

void check_client_name(std::string_view name) {
  auto allowed = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
           std::string_view("-.:[]").find(c) != std::string_view::npos;
  };
  if (!std::all_of(name.begin(), name.end(), allowed))
    throw UsageError("--ehlo takes a domain or an address literal such as [192.0.2.1]");
}

SmtpExtensions greet(SmtpSession& session, const std::string& client_name) {
  SmtpReply greeting = session.read_reply();
  if (greeting.kind() != 2) throw SmtpRefusal("the connection", greeting);
  SmtpReply ehlo = session.command("EHLO " + client_name);
  if (ehlo.kind() == 2) return parse_ehlo_reply(ehlo);
  if (ehlo.kind() != 5) throw SmtpRefusal("EHLO", ehlo);
  // An old server that knows only RFC 821 answers EHLO with 500/502: say HELO instead, and
  // use no extension.
  session.expect("HELO " + client_name, 2, "HELO");
  return SmtpExtensions{};
}

SmtpExtensions start_tls(SmtpSession& session, const SmtpExtensions& extensions,
                         const TlsClientContext& context, const std::string& host,
                         const std::string& client_name) {
  if (!extensions.starttls)
    throw FatalError(EX_UNAVAILABLE,
                     "the server does not offer STARTTLS (--starttls): nothing "
                     "was sent, no password and no mail");
  session.expect("STARTTLS", 2, "STARTTLS");
  session.start_tls(context, host);
  // RFC 3207 4.2: forget what the server said in clear, and ask again over TLS.
  SmtpReply ehlo = session.command("EHLO " + client_name);
  if (ehlo.kind() != 2) throw SmtpRefusal("EHLO after STARTTLS", ehlo);
  return parse_ehlo_reply(ehlo);
}

SmtpReply send_message(SmtpSession& session, const SmtpExtensions& extensions,
                       const Envelope& envelope, std::string_view message) {
  std::string data = dot_stuffed(message);
  std::string mail_from = "MAIL FROM:<" + envelope.from + ">";
  if (extensions.size_limit) {
    if (*extensions.size_limit != 0 && data.size() > *extensions.size_limit) {
      throw FatalError(EX_DATAERR, "the message is " + std::to_string(data.size()) +
                                       " bytes; the server takes at most " +
                                       std::to_string(*extensions.size_limit) + " (its SIZE)");
    }
    mail_from += " SIZE=" + std::to_string(data.size());  // RFC 1870: refused early if too big
  }
  session.expect(mail_from, 2, mail_from);
  for (const std::string& to : envelope.to) {
    std::string rcpt_to = "RCPT TO:<" + to + ">";
    session.expect(rcpt_to, 2, rcpt_to);
  }
  session.expect("DATA", 3, "DATA");
  try {
    session.send(data);
  } catch (const std::system_error&) {
    // A server that refuses the message before its end (552: too big) often says why and
    // closes: the write fails, and the reason is its reply, if one came.
    throw SmtpRefusal("the message", session.read_reply());
  }
  SmtpReply reply = session.read_reply();
  if (reply.kind() != 2) throw SmtpRefusal("the message", reply);
  return reply;
}

std::string dot_stuffed(std::string_view message) {
  std::string data;
  data.reserve(message.size() + message.size() / 64 + 8);
  bool line_start = true;
  for (char c : message) {
    if (line_start && c == '.') data += '.';
    data += c;
    line_start = c == '\n';
  }
  if (!data.empty() && !data.ends_with("\r\n")) data += "\r\n";
  data += ".\r\n";
  return data;
}

}  // namespace sockserv
