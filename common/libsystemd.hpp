// libsystemd, loaded only when systemd talks to us (LISTEN_FDS or NOTIFY_SOCKET is set).
//
// Why not link it: libsystemd pulls seven more shared libraries (libgcrypt, liblzma, libzstd,
// liblz4, libcap...) into every server. Each mapping costs page faults in every forked
// child (copy-on-write of their relocated data), measured at about 60 faults per connection
// against 24 for a C server without them. dlopen(3) keeps the well-kept library and its
// protocol code, and a server started by hand never maps it.
#pragma once

namespace sockserv {

struct LibSystemd {
  int (*listen_fds_with_names)(int unset_environment, char*** names);
  int (*notify)(int unset_environment, const char* state);
};

/// The functions of libsystemd.so.0, loaded on first use; null (with the reason in `why`)
/// when the library cannot be loaded.
const LibSystemd* libsystemd(const char** why);

}  // namespace sockserv
