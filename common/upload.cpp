// Receiving an upload body; a failed write becomes an error frame, not a dropped connection.
#include "upload.hpp"

#include "log.hpp"
#include "sha256.hpp"
#include "staging.hpp"

namespace sockserv {

std::optional<std::string> receive_upload(ConnectionStream& stream, IoContext& io, int fd,
                                          uint64_t length, const std::string& peer) {
  Sha256 hash;
  std::string failure;
  read_body(stream, length, [&](std::span<const std::byte> chunk) {
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
  });
  if (!failure.empty()) return std::nullopt;
  return hash.hex_digest();
}

}  // namespace sockserv
