// What mail-client reads before it connects: the body from stdin and the attached files,
// each bounded by --max-size so that a huge input fails at once instead of filling memory.
#pragma once

#include <cstdint>
#include <string>

#include "mime.hpp"

namespace sockserv {

/// Reads `fd` to its end. Throws FatalError (EX_DATAERR, 65) naming `what` as soon as it
/// holds more than `limit` bytes.
std::string read_bounded(int fd, uint64_t limit, const std::string& what);

/// The file at `path` as an attachment named after its last path component. Throws
/// FatalError (EX_NOINPUT, 66) when it cannot be read or is a directory, UsageError when
/// its name is not UTF-8.
Attachment read_attachment(const std::string& path, uint64_t limit);

}  // namespace sockserv
