// UTF-8 validation, for line protocols that promise text (chat) and for escaping (escape.hpp).
#pragma once

#include <cstddef>
#include <string_view>

namespace sockserv {

/// True when `text` is well-formed UTF-8 (RFC 3629): no overlong forms, no surrogates,
/// nothing above U+10FFFF, no truncated sequence.
bool is_valid_utf8(std::string_view text);

/// The length (1 to 4) of the well-formed UTF-8 sequence that starts `text`, or 0 when
/// `text` is empty or does not start with one.
size_t utf8_sequence_length(std::string_view text);

}  // namespace sockserv
