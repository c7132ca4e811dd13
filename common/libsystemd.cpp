// dlopen("libsystemd.so.0") once, on first use.
#include "libsystemd.hpp"

#include <dlfcn.h>

#include <mutex>

namespace sockserv {

const LibSystemd* libsystemd(const char** why) {
  static LibSystemd api{};
  static const char* error = nullptr;
  static std::once_flag loaded;
  std::call_once(loaded, [] {
    // RTLD_NOW: resolve everything now, not lazily in each forked child.
    void* handle = ::dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      error = ::dlerror();
      return;
    }
    api.listen_fds_with_names =
        reinterpret_cast<int (*)(int, char***)>(::dlsym(handle, "sd_listen_fds_with_names"));
    api.notify = reinterpret_cast<int (*)(int, const char*)>(::dlsym(handle, "sd_notify"));
    if (api.listen_fds_with_names == nullptr || api.notify == nullptr)
      error = "libsystemd.so.0 lacks sd_listen_fds_with_names or sd_notify";
  });
  if (why != nullptr) *why = error;
  return error == nullptr ? &api : nullptr;
}

}  // namespace sockserv
