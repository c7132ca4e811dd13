// Reading the parts of a message, bounded in size.
#include "mail_input.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sysexits.h>

#include <cstring>

#include "error.hpp"
#include "fd.hpp"
#include "io.hpp"
#include "utf8.hpp"

namespace sockserv {

std::string read_bounded(int fd, uint64_t limit, const std::string& what) {
  std::string data;
  char buffer[64 * 1024];
  for (;;) {
    size_t n =
        read_some(fd, std::as_writable_bytes(std::span(buffer)), Deadline::never(), client_io());
    if (n == 0) return data;
    if (data.size() + n > limit)
      throw FatalError(EX_DATAERR,
                       what + " is larger than --max-size (" + std::to_string(limit) + " bytes)");
    data.append(buffer, n);
  }
}

Attachment read_attachment(const std::string& path, uint64_t limit) {
  UniqueFd file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st {};
  if (!file || ::fstat(file.get(), &st) < 0)
    throw FatalError(EX_NOINPUT, "cannot read --attach " + path + ": " + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw FatalError(EX_NOINPUT, "--attach " + path + " is a directory");
  Attachment attachment;
  attachment.file_name = path.substr(path.rfind('/') + 1);
  if (!is_valid_utf8(attachment.file_name))
    throw UsageError("--attach " + path + ": the file name is not UTF-8");
  attachment.content = read_bounded(file.get(), limit, "--attach " + path);
  return attachment;
}

}  // namespace sockserv
