// Integration tests: the real programs, started on loopback, checked from outside.
#define BOOST_TEST_MODULE sockserv integration tests
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>
