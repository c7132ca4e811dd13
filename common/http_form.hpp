// Form bodies (application/x-www-form-urlencoded), as the tutorial's SMS request builds them
// with Python's urllib.parse.urlencode: each name and value encoded, a space as '+', pairs
// joined with '&' ("msg=a%26b+%E4%BD%A0"). The server decodes them with parse_qs or its
// framework's form parser and gets the original text back.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sockserv {

/// `text` with every byte but ASCII letters, digits and "-._~" percent-encoded (%XX in upper
/// case) and spaces as '+': what Python's urllib.parse.quote_plus (urlencode's default) does.
std::string form_encode(std::string_view text);

/// "name=value&name=value" from the pairs, each side encoded with form_encode.
std::string form_body(const std::vector<std::pair<std::string, std::string>>& fields);

}  // namespace sockserv
