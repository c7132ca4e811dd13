// Base64 (RFC 4648) through OpenSSL's EVP_EncodeBlock, as MIME (RFC 2045) and SMTP AUTH
// (RFC 4954) use it.
#pragma once

#include <string>
#include <string_view>

namespace sockserv {

/// The base64 text of `data`, one line, with '=' padding.
std::string base64(std::string_view data);

/// The base64 text of `data` in lines of 76 characters (the most RFC 2045 allows), each
/// ended by CRLF, as the body of a MIME part. Empty data gives an empty string.
std::string base64_lines(std::string_view data);

}  // namespace sockserv
