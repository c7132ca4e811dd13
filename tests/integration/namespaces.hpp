// Network namespaces for tests that must change a network sysctl (ping_group_range,
// ip_local_port_range) without touching the machine's: `unshare -n`, inside a user namespace
// (-U -r) where the kernel allows one, so that no root is needed. Where no namespace can be
// made, a test using have_namespaces is skipped with the reason.
#pragma once

#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

namespace sockserv::test {

inline constexpr const char* kUnshare = "/usr/bin/unshare";

/// The unshare options that make a network namespace (with loopback up) here, or nullptr
/// and, in `why`, the reason there are none. Probed once.
const std::vector<std::string>* namespace_options(std::string* why = nullptr);

/// A precondition: a network namespace can be made here.
boost::test_tools::assertion_result have_namespaces(boost::unit_test::test_unit_id);

}  // namespace sockserv::test
