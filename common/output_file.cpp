// Writing a download to stdout, or atomically to a file.
#include "output_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "error.hpp"
#include "io.hpp"

namespace sockserv {
namespace {

std::string reason(int err) {
  return std::strerror(err);
}

}  // namespace

OutputFile::OutputFile(const std::string& path) {
  if (path.empty() || path == "-") return;
  std::string name = path + ".XXXXXX.part";
  std::vector<char> buffer(name.begin(), name.end());
  buffer.push_back('\0');
  // mkostemps: a new name nobody else uses (O_EXCL), close-on-exec like every descriptor.
  file_.reset(::mkostemps(buffer.data(), 5, O_CLOEXEC));
  if (!file_) throw FatalError(EX_CANTCREAT, "cannot create " + name + ": " + reason(errno));
  part_path_ = buffer.data();
  path_ = path;
  // mkostemps makes the file 0600; give it the mode any new file gets (0666 less the umask),
  // as curl -o and shell redirection do. umask(2) can only be read by setting it.
  mode_t mask = ::umask(022);
  ::umask(mask);
  if (::fchmod(file_.get(), 0666 & ~mask) < 0) {
    int err = errno;
    // The destructor does not run for a constructor that throws: remove the part file here.
    ::unlink(part_path_.c_str());
    throw FatalError(EX_CANTCREAT, "chmod " + part_path_ + ": " + reason(err));
  }
}

OutputFile::~OutputFile() {
  if (!part_path_.empty()) ::unlink(part_path_.c_str());  // not committed: leave nothing
}

void OutputFile::write(std::string_view bytes) {
  try {
    write_all(file_ ? file_.get() : STDOUT_FILENO, bytes, Deadline::never(), client_io());
  } catch (const std::system_error& e) {
    throw FatalError(EX_IOERR, "write " + (path_.empty() ? std::string("stdout") : part_path_) +
                                   ": " + e.code().message());
  }
}

void OutputFile::commit() {
  if (!file_) return;
  if (::fsync(file_.get()) < 0)
    throw FatalError(EX_IOERR, "fsync " + part_path_ + ": " + reason(errno));
  if (::rename(part_path_.c_str(), path_.c_str()) < 0)
    throw FatalError(EX_CANTCREAT, "rename " + part_path_ + " to " + path_ + ": " + reason(errno));
  part_path_.clear();
}

}  // namespace sockserv
