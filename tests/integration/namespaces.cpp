// Probing once for a way to make a network namespace (see namespaces.hpp).
#include "namespaces.hpp"

#include <utility>

#include "harness.hpp"

namespace sockserv::test {

using namespace std::chrono_literals;

// A user namespace first (works without root where the kernel allows it); root can do
// without one.
const std::vector<std::string>* namespace_options(std::string* why) {
  static const std::pair<std::vector<std::string>, std::string> kProbe = [] {
    std::string reasons;
    for (std::vector<std::string> options :
         {std::vector<std::string>{"-U", "-r", "-n"}, std::vector<std::string>{"-n"}}) {
      std::vector<std::string> args = options;
      args.insert(args.end(), {"sh", "-c", "PATH=/usr/sbin:/sbin:$PATH; ip link set lo up"});
      RunResult r = run_program(kUnshare, args, "", 10000ms);
      if (r.exit_code == 0) return std::pair{options, std::string()};
      reasons += "unshare " + options[0] + ": " + r.err;
    }
    return std::pair{std::vector<std::string>{}, reasons};
  }();
  if (why != nullptr) *why = kProbe.second;
  return kProbe.first.empty() ? nullptr : &kProbe.first;
}

boost::test_tools::assertion_result have_namespaces(boost::unit_test::test_unit_id) {
  std::string why;
  boost::test_tools::assertion_result result(namespace_options(&why) != nullptr);
  result.message() << "no network namespace can be made here: " << why;
  return result;
}

}  // namespace sockserv::test
