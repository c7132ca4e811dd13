// The test CA and its certificates, made with `openssl req` and `openssl x509 -req`.
#include "tls_certs.hpp"

#include <stdexcept>

namespace sockserv::test {
namespace {

const char* const kServerNames = "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1";

}  // namespace

std::string run_openssl(const std::vector<std::string>& args) {
  RunResult r = run_program("/usr/bin/openssl", args, "", 30000ms);
  if (r.exit_code != 0) {
    std::string command = "openssl";
    for (const std::string& a : args) command += " " + a;
    throw std::runtime_error(command + " failed: " + r.err);
  }
  return r.out;
}

TestPki::TestPki() : dir_("tls") {
  ca_ = {(dir_.path / "ca.pem").string(), (dir_.path / "ca.key").string()};
  run_openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
               "-keyout", ca_.key, "-out", ca_.cert, "-days", "3", "-subj", "/CN=sockserv test CA",
               "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
               "keyUsage=critical,keyCertSign,cRLSign"});
}

// A key and a request with the extensions, then the CA signs it, copying them over.
CertFiles TestPki::sign(const std::string& name, const std::string& subject,
                        const std::string& extensions, int days) const {
  CertFiles files{(dir_.path / (name + ".pem")).string(), (dir_.path / (name + ".key")).string()};
  std::string request = (dir_.path / (name + ".csr")).string();
  run_openssl({"req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
               "-keyout", files.key, "-out", request, "-subj", subject, "-addext", extensions});
  // -days below 0 gives a certificate whose validity ended before now: an expired one.
  run_openssl({"x509", "-req", "-in", request, "-CA", ca_.cert, "-CAkey", ca_.key,
               "-CAcreateserial", "-days", std::to_string(days), "-copy_extensions", "copyall",
               "-out", files.cert});
  return files;
}

CertFiles TestPki::server(const std::string& name, const std::string& cn, int days) const {
  return sign(name, "/CN=" + cn, kServerNames, days);
}

CertFiles TestPki::client(const std::string& name, const std::string& cn) const {
  return sign(name, "/CN=" + cn + "/O=sockserv tests", "extendedKeyUsage=clientAuth", 2);
}

CertFiles TestPki::self_signed(const std::string& name) const {
  CertFiles files{(dir_.path / (name + ".pem")).string(), (dir_.path / (name + ".key")).string()};
  run_openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
               "-keyout", files.key, "-out", files.cert, "-days", "2", "-subj", "/CN=localhost",
               "-addext", kServerNames});
  return files;
}

}  // namespace sockserv::test
