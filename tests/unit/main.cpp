// Unit tests: parsers and helpers, no servers needed.
#define BOOST_TEST_MODULE sockserv unit tests
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>
