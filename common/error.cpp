// Building the exceptions that name the failed call.
#include "error.hpp"

#include <cerrno>

namespace sockserv {

void throw_errno(const std::string& what) {
  throw_errno(errno, what);
}

void throw_errno(int err, const std::string& what) {
  throw std::system_error(err, std::generic_category(), what);
}

bool is_peer_gone(const std::system_error& e) {
  int err = e.code().value();
  return err == EPIPE || err == ECONNRESET || err == ECONNABORTED || err == ENOTCONN;
}

}  // namespace sockserv
