// Receiving an upload body; a failed write becomes an error frame, not a dropped connection.
#include "upload.hpp"

#include "compressed_body.hpp"
#include "log.hpp"
#include "sha256.hpp"
#include "staging.hpp"

namespace sockserv {
namespace {

// The body's opening frame: {"size":L} (plain) or {"encoding":E,"length":L} (E accepted).
Encoding opening_encoding(const std::optional<FrameHeader>& opening, uint64_t length,
                          Encoding accepted) {
  std::string expected = "put: expected a " + std::to_string(length) + "-byte body";
  if (!opening) throw ProtocolError(expected);
  if (!opening->header.contains("encoding")) {
    if (opening->body_size != length) throw ProtocolError(expected);
    return Encoding::identity;
  }
  Encoding encoding = announced_encoding(opening->header, accepted != Encoding::identity);
  if (encoding != accepted)
    throw ProtocolError("put: body encoded as " + opening->header["encoding"].dump() +
                        ", the server accepted " + to_string(accepted));
  // The decompressed size is bounded like a plain body's: by the length the server allowed.
  if (opening->body_size != 0 || announced_length(opening->header, length) != length)
    throw ProtocolError(expected);
  return encoding;
}

}  // namespace

std::optional<ReceivedUpload> receive_upload(ConnectionStream& stream, IoContext& io, int fd,
                                             uint64_t length, Encoding accepted,
                                             const std::string& peer) {
  Encoding encoding =
      opening_encoding(read_frame_header(stream, {.max_body = length}), length, accepted);
  Sha256 hash;
  std::string failure;
  auto store = [&](std::span<const std::byte> chunk) {
    if (!failure.empty()) return;  // dropped: the client has been told why
    try {
      offloaded(io, [&] {
        hash.update(chunk);
        write_all(fd, chunk, Deadline::never(), client_io());  // a file: no waits
      });
    } catch (const std::system_error& e) {
      failure = "cannot store: " + errno_reason(e.code().value());
      log_warning(peer, ": upload not stored: ", failure);
      write_frame(stream, {{"status", "error"}, {"error", failure}});
    }
  };
  ReceivedUpload received;
  if (encoding == Encoding::identity) {
    read_body(stream, length, store);
  } else {
    received.wire = read_compressed_body(stream, encoding, length, store).summary(encoding);
  }
  if (!failure.empty()) return std::nullopt;
  received.sha256 = hash.hex_digest();
  return received;
}

}  // namespace sockserv
