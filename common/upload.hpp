// receive_upload: the body of a file-server upload, from the connection into a staged file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "compression.hpp"
#include "framing.hpp"

namespace sockserv {

/// An upload body that arrived whole.
struct ReceivedUpload {
  std::string sha256;  // of the original bytes
  std::string wire;    // "" for a plain body, else how it came ("... bytes as ... (zstd; ...)")
};

/// Reads an upload body of `length` bytes from `stream` into the file `fd`, hashing it on
/// the way; the writes run through `io`'s offload (they may wait for a disk). The body opens
/// with a frame {"size":L} followed by the bytes, or, when the server's "ready" accepted an
/// encoding, {"encoding":E,"length":L} followed by chunk frames (compressed_body.hpp); any
/// other opening, another length or a broken chunk is a ProtocolError. When a write fails
/// (disk full, quota, file too large, I/O error) the client is told at once in an error frame
/// naming the reason ("No space left on device (ENOSPC)"), so that a client that reads while
/// it sends can stop; the rest of the body is then read and dropped, which keeps the
/// connection in step for its next request, and nullopt is returned: the request has had its
/// answer. The failure is logged with `peer`.
std::optional<ReceivedUpload> receive_upload(ConnectionStream& stream, IoContext& io, int fd,
                                             uint64_t length, Encoding accepted,
                                             const std::string& peer);

}  // namespace sockserv
