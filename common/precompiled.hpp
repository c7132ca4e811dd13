// Standard headers nearly every file of the library and the programs includes, compiled once
// per build into a precompiled header (the Makefile passes `-include` this file): parsing
// them again in each of the hundred files was a third of a fresh build's time. A source file
// still includes what it uses itself; this file only makes the compiler faster.

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>
