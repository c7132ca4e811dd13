// Loading OpenSSL on first use (see openssl.hpp).
#include "openssl.hpp"

#include <dlfcn.h>
#include <sysexits.h>

#include <string>

#include "error.hpp"

namespace sockserv::ossl {
namespace {

#define SOCKSERV_STRING(x) #x
#define SOCKSERV_LIBSSL(major) "libssl.so." SOCKSERV_STRING(major)
// The library of the OpenSSL whose headers we were built with: libssl.so.3 for OpenSSL 3.
constexpr const char* kLibrary = SOCKSERV_LIBSSL(OPENSSL_VERSION_MAJOR);

// dlerror(3)'s text: why the last dlopen or dlsym failed.
std::string dl_error() {
  const char* why = ::dlerror();
  return why != nullptr ? why : "no reason given";
}

void* find(void* library, const char* name) {
  void* address = ::dlsym(library, name);  // libssl's own, or libcrypto's, which it loaded
  if (address == nullptr) {
    throw FatalError(EX_UNAVAILABLE, std::string("TLS: ") + name + " is missing from " + kLibrary +
                                         ": " + dl_error());
  }
  return address;
}

Functions load() {
  // RTLD_NOW: every symbol of the library is bound here, so a broken installation fails now,
  // with a message, not at some call under load. The handle is never closed: the functions
  // are used until the process ends.
  void* library = ::dlopen(kLibrary, RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    throw FatalError(EX_UNAVAILABLE, std::string("TLS needs OpenSSL 3 (") + kLibrary +
                                         ", Debian's libssl3): " + dl_error());
  }
  Functions functions{};
#define SOCKSERV_OPENSSL_FIND(name) \
  functions.name = reinterpret_cast<decltype(functions.name)>(find(library, #name));
  SOCKSERV_OPENSSL_FUNCTIONS(SOCKSERV_OPENSSL_FIND)
#undef SOCKSERV_OPENSSL_FIND
  return functions;
}

}  // namespace

const Functions& functions() {
  static const Functions loaded = load();  // C++ runs this once, even with threads racing
  return loaded;
}

}  // namespace sockserv::ossl
