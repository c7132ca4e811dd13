// Boost.Test and the standard headers the test files share, compiled once per build into a
// precompiled header (the Makefile passes `-include` this file to every test file except the
// two main.cpp, which define BOOST_TEST_MODULE before their own include). A test file still
// includes what it uses itself; this file only makes the compiler faster.

#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>
