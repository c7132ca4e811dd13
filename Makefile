# sockserv: the one build. GNU make; `make help` lists the targets.
#
#   make            build the library, every server and client, the tests and the bench references
#   make demo       install missing packages, build, and show the services at work
#   make test       install missing packages, build, run every test; last line "N passed, N failed"
#   make labs       run the classroom labs (docs/labs/NN-name/run.sh): each shows a bug, then its fix
#   make check-asan / check-tsan   the same tests under AddressSanitizer+UBSan / ThreadSanitizer
#   make soak       the reliability gates at full size (100,000 connections...; many minutes)
#   make fuzz       libFuzzer targets (clang); make fuzz-smoke: a fixed number of runs each
#   make bench      compare the concurrency models (a few minutes; QUICK=1: under a minute)
#   make bench-refs the reference C servers of each model, into build/bench/ref-MODEL
#   make install    PREFIX=/usr/local DESTDIR=

CXX      ?= g++
PREFIX   ?= /usr/local
DESTDIR  ?=
BUILD    ?= build/release
BIN      ?= bin
# -g1: line tables and function names (perf, gdb backtraces) without the variable and type
# information of -g, which made a fresh build about a quarter slower.
OPTFLAGS ?= -O2 -g1
SANFLAGS ?=
WARNFLAGS ?=

CXXFLAGS := -std=c++20 -Wall -Wextra -Werror $(WARNFLAGS) -pthread $(OPTFLAGS) $(SANFLAGS) -MMD -MP -Icommon
# --as-needed: a program links only the libraries it uses (echo-client no libssl);
# -z now: symbols are bound once at start, not lazily in every forked child (each lazy
# binding writes the GOT: a copy-on-write page fault per child).
LDFLAGS  := -pthread $(SANFLAGS) -Wl,--as-needed -Wl,-z,now
LIBS     := -lboost_program_options -lboost_context -lcrypto -lz -ldl
# libzstd: zstd-compressed frame bodies of file-server and cmd-server (common/compression).
LIBS     += -lzstd
# No -lssl: the programs load libssl with dlopen at their first TLS call (common/openssl.hpp),
# so that a server without --tls does not carry it into every process it forks. Left off the
# programs' link line, a call that bypasses ossl:: fails to link instead of pulling it back in.
# The tests link it: they drive OpenSSL directly, as a peer.
TEST_LIBS := $(LIBS) -lssl

LIB_SRCS    := $(wildcard common/*.cpp common/models/*.cpp)
SERVER_SRCS := $(wildcard servers/*.cpp)
CLIENT_SRCS := $(wildcard clients/*.cpp)
UNIT_SRCS   := $(wildcard tests/unit/*.cpp)
INTEG_SRCS  := $(wildcard tests/integration/*.cpp)

LIB      := $(BUILD)/libsockserv.a
LIB_OBJS := $(LIB_SRCS:%.cpp=$(BUILD)/%.o)
PROGRAMS := $(patsubst servers/%.cpp,$(BIN)/%,$(SERVER_SRCS)) $(patsubst clients/%.cpp,$(BIN)/%,$(CLIENT_SRCS))
UNIT_TESTS  := $(BUILD)/tests/unit-tests
INTEG_TESTS := $(BUILD)/tests/integration-tests
ALL_OBJS := $(LIB_OBJS) $(SERVER_SRCS:%.cpp=$(BUILD)/%.o) $(CLIENT_SRCS:%.cpp=$(BUILD)/%.o) \
            $(UNIT_SRCS:%.cpp=$(BUILD)/%.o) $(INTEG_SRCS:%.cpp=$(BUILD)/%.o)

.PHONY: all programs tests deps demo test run-tests check-asan check-tsan fuzz fuzz-smoke soak install \
        clean help bench bench-refs
all: programs tests bench-refs
programs: $(PROGRAMS)
tests: $(UNIT_TESTS) $(INTEG_TESTS)

# Objects depend on the compiler flags too: a changed flag (a sanitizer build) rebuilds them.
FLAGS_STAMP := $(BUILD)/compile-flags
$(shell mkdir -p $(BUILD); echo '$(CXX) $(CXXFLAGS)' | cmp -s - $(FLAGS_STAMP) || echo '$(CXX) $(CXXFLAGS)' > $(FLAGS_STAMP))

# Precompiled headers: the standard headers (and Boost.Test, for the tests) are parsed once per
# build instead of once per file, which makes a fresh build about a third faster. Each is
# compiled with exactly the flags of the files that use it (GCC refuses a header built with
# other flags; -Winvalid-pch makes that an error rather than a silent slow build). Sources
# still include what they use: the precompiled header only saves the compiler work.
LIB_PCH  := $(BUILD)/pch/precompiled.hpp
TEST_PCH := $(BUILD)/tests/pch/precompiled.hpp
PCHFLAGS := -Winvalid-pch

$(LIB_PCH).gch: common/precompiled.hpp $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	cp $< $(LIB_PCH)
	$(CXX) $(CXXFLAGS) -x c++-header $< -o $@

$(BUILD)/%.o: %.cpp $(LIB_PCH).gch $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) $(PCHFLAGS) -include $(LIB_PCH) -c $< -o $@

# The tests' own code needs no speed and no debugger: -O0 -g0 compiles their Boost.Test-heavy
# files about twice as fast as -O2 -g (the library and programs they test keep OPTFLAGS).
TEST_CXXFLAGS = $(CXXFLAGS) -O0 -g0

$(TEST_PCH).gch: tests/precompiled.hpp $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	cp $< $(TEST_PCH)
	$(CXX) $(TEST_CXXFLAGS) -x c++-header $< -o $@

$(BUILD)/tests/%.o: tests/%.cpp $(TEST_PCH).gch $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CXX) $(TEST_CXXFLAGS) $(PCHFLAGS) -include $(TEST_PCH) -c $< -o $@

# The two main.cpp define BOOST_TEST_MODULE before including Boost.Test (which then emits
# main()): a header included ahead of them would come too early.
$(BUILD)/tests/%/main.o: tests/%/main.cpp $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CXX) $(TEST_CXXFLAGS) -c $< -o $@

# loadgen reports the flags it was built with (env.cxxflags in its JSON). `private`: the flag
# is not passed on to loadgen.o's prerequisites (the precompiled header).
$(BUILD)/clients/loadgen.o: private CXXFLAGS += -DSOCKSERV_CXXFLAGS='"$(strip $(OPTFLAGS) $(SANFLAGS))"'

$(LIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

# The servers carry the C++ runtime and Boost inside them (-static-libstdc++, libboost_*.a):
# four shared libraries fewer is 21 memory mappings fewer, and under --model fork each
# fork() copies every mapping and each child's exit tears them down again (8% of the server's
# CPU per connection, measured: docs/benchmarks.md). OpenSSL (loaded only for TLS), zlib and
# zstd stay shared, so their security fixes arrive with the system's updates. Sanitizer builds link everything
# shared: the sanitizers must replace operator new, which a static libstdc++ would hide.
STATIC_CXX    := -Wl,-Bstatic -lboost_program_options -lboost_context -Wl,-Bdynamic
SERVER_LDFLAGS = $(LDFLAGS) $(if $(SANFLAGS),,-static-libstdc++ -static-libgcc)
SERVER_LIBS    = $(if $(SANFLAGS),$(LIBS),$(STATIC_CXX) \
                   $(filter-out -lboost_program_options -lboost_context,$(LIBS)))

$(BIN)/%: $(BUILD)/servers/%.o $(LIB)
	@mkdir -p $(BIN)
	$(CXX) $(SERVER_LDFLAGS) $< $(LIB) $(SERVER_LIBS) -o $@

$(BIN)/%: $(BUILD)/clients/%.o $(LIB)
	@mkdir -p $(BIN)
	$(CXX) $(LDFLAGS) $< $(LIB) $(LIBS) -o $@

$(UNIT_TESTS): $(UNIT_SRCS:%.cpp=$(BUILD)/%.o) $(LIB)
	$(CXX) $(LDFLAGS) $^ $(TEST_LIBS) -lboost_unit_test_framework -o $@

$(INTEG_TESTS): $(INTEG_SRCS:%.cpp=$(BUILD)/%.o) $(LIB)
	$(CXX) $(LDFLAGS) $^ $(TEST_LIBS) -lboost_unit_test_framework -o $@

deps:
	scripts/install-deps
	scripts/fetch-peers

demo: deps
	$(MAKE) programs
	scripts/demo

# The test command of README.md and CI: set-up, build, run, then one plain totals line.
test: deps
	$(MAKE) -j2 all
	$(MAKE) run-tests

run-tests:
	scripts/run-tests $(BUILD) $(BIN)

# The classroom labs (docs/labs/README.md), each unattended; make test runs them too.
.PHONY: labs
labs: deps
	$(MAKE) programs
	scripts/run-labs $(BIN)

# The long gates at full size: integration test cases labelled "soak", which `make test`
# skips (they are disabled unless selected): suites soak (tests/integration/gates_test.cpp) and
# deadline_soak (deadline_test.cpp). To add one, give it
#   * boost::unit_test::label("soak") * boost::unit_test::disabled()
# The figures each gate measured are printed as messages.
soak: deps
	$(MAKE) -j2 programs tests
	SOCKSERV_BIN=$(abspath $(BIN)) TESTS_EVERY_MODEL=1 $(INTEG_TESTS) --run_test=@soak:deadline:udp_reflection --log_level=message

# Sanitizer builds: GCC 12 gives false -Wmaybe-uninitialized warnings inside <regex> and
# <functional> when sanitizers change its inlining (GCC bug 105562), so that one warning is
# not an error there; the release build keeps it.
SAN_WARN := -Wno-maybe-uninitialized
# UBSan's vptr check needs a spare descriptor to probe memory; in the test that runs a server
# out of descriptors on purpose it then reports every thrown exception as a bad object.
ASAN_FLAGS := -fsanitize=address,undefined -fno-sanitize=vptr -fno-omit-frame-pointer -fno-sanitize-recover=all

check-asan: deps
	$(MAKE) -j2 BUILD=build/asan BIN=build/asan/bin OPTFLAGS="-O1 -g" WARNFLAGS="$(SAN_WARN)" \
	  SANFLAGS="$(ASAN_FLAGS)" all
	$(MAKE) BUILD=build/asan BIN=build/asan/bin run-tests

check-tsan: deps
	$(MAKE) -j2 BUILD=build/tsan BIN=build/tsan/bin OPTFLAGS="-O1 -g" WARNFLAGS="$(SAN_WARN)" \
	  SANFLAGS="-fsanitize=thread" all
	$(MAKE) BUILD=build/tsan BIN=build/tsan/bin run-tests

# libFuzzer: one target per parser (tests/fuzz/NAME_fuzz.cpp), built with clang into build/fuzz.
# The parser's own sources are compiled with the fuzzer's coverage and ASan+UBSan (a UB report
# aborts: -fno-sanitize-recover); whatever else a target needs (options: the model table)
# links from the release library, uninstrumented and not fuzzed.
#   make fuzz        each target for FUZZ_TIME seconds; new inputs go to build/fuzz/corpus/NAME,
#                    the seeds in tests/fuzz/corpus/NAME are only read
#   make fuzz-smoke  each target for a fixed FUZZ_RUNS executions from its seeds: no crash,
#                    leak, hang (-timeout=10 s per input) or sanitizer report
FUZZ_TIME    ?= 20
FUZZ_RUNS    ?= 2000
FUZZ_CXX     ?= clang++
FUZZ_TARGETS := frame address chat_line options proxy_header smtp_reply
FUZZ_TARGETS += http_response
FUZZ_TARGETS += http_request
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CXXFLAGS := -std=c++20 -O1 -g -fsanitize=fuzzer-no-link $(FUZZ_SAN) -Icommon -MMD -MP
FUZZ_SRCS_frame     := common/framing.cpp common/io.cpp common/connection.cpp common/error.cpp \
                       common/fd.cpp common/address.cpp
FUZZ_SRCS_address   := common/address.cpp common/access.cpp common/error.cpp
FUZZ_SRCS_chat_line := common/connection.cpp common/io.cpp common/utf8.cpp common/fd.cpp \
                       common/error.cpp
FUZZ_SRCS_proxy_header := common/proxy_protocol.cpp
FUZZ_SRCS_smtp_reply := common/smtp_reply.cpp
FUZZ_SRCS_http_response := common/http_response.cpp common/http_chunked.cpp
FUZZ_SRCS_http_request := common/http_request.cpp common/http_reply.cpp common/http_static.cpp \
                          common/beneath.cpp common/staging.cpp common/error.cpp common/fd.cpp \
                          common/log.cpp common/escape.cpp common/utf8.cpp
FUZZ_SRCS_options   := common/options.cpp common/program.cpp common/address.cpp common/access.cpp \
                       common/error.cpp common/log.cpp
FUZZ_TARGETS += icmp_reply
FUZZ_SRCS_icmp_reply := common/icmp.cpp
FUZZ_TARGETS += decompress
FUZZ_SRCS_decompress := common/compression.cpp common/compressed_body.cpp common/framing.cpp \
                        common/io.cpp common/connection.cpp common/error.cpp common/fd.cpp \
                        common/address.cpp
FUZZ_BINS := $(FUZZ_TARGETS:%=build/fuzz/%_fuzz)

build/fuzz/obj/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(FUZZ_CXX) $(FUZZ_CXXFLAGS) -c $< -o $@

fuzz_objs = $(addprefix build/fuzz/obj/,$(patsubst %.cpp,%.o,$(FUZZ_SRCS_$(1))))
.SECONDEXPANSION:
build/fuzz/%_fuzz: build/fuzz/obj/tests/fuzz/%_fuzz.o $$(call fuzz_objs,$$*) $(LIB)
	$(FUZZ_CXX) -fsanitize=fuzzer $(FUZZ_SAN) -pthread $^ $(LIBS) -o $@

fuzz: $(FUZZ_BINS)
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p build/fuzz/corpus/$$t && \
	  build/fuzz/$${t}_fuzz -max_total_time=$(FUZZ_TIME) -max_len=4096 -timeout=10 \
	    build/fuzz/corpus/$$t tests/fuzz/corpus/$$t || exit 1; \
	done

# A fresh scratch directory first (libFuzzer writes new inputs there) and a fixed seed: the
# same executions every time.
fuzz-smoke: $(FUZZ_BINS)
	@for t in $(FUZZ_TARGETS); do \
	  rm -rf build/fuzz/smoke/$$t && mkdir -p build/fuzz/smoke/$$t && \
	  echo "== $$t: $(FUZZ_RUNS) runs" && \
	  build/fuzz/$${t}_fuzz -runs=$(FUZZ_RUNS) -seed=1 -max_len=4096 -timeout=10 -print_final_stats=1 \
	    build/fuzz/smoke/$$t tests/fuzz/corpus/$$t > build/fuzz/smoke/$$t.log 2>&1 \
	    || { tail -n 40 build/fuzz/smoke/$$t.log; echo "fuzz-smoke: $$t failed"; exit 1; }; \
	  grep -E '^stat::number_of_executed_units' build/fuzz/smoke/$$t.log; \
	done

-include $(wildcard build/fuzz/obj/*/*.d build/fuzz/obj/*/*/*.d)

# Benchmarks: every model of echo-server, the reference C servers and Python's socketserver,
# side by side (scripts/compare-models writes docs/benchmarks.md and docs/bench/*.png).
# The references are plain C with their own flags: no sanitizers, they are the yardstick.
REF_MODELS := fork thread prefork prethread epoll
REFS       := $(REF_MODELS:%=build/bench/ref-%)
REF_CFLAGS := -O2 -Wall -Wextra -Werror -pthread
bench-refs: $(REFS)

build/bench/ref-%: scripts/bench/reference/%.c
	@mkdir -p $(dir $@)
	$(CC) $(REF_CFLAGS) $< -o $@

bench:
	scripts/install-deps
	$(MAKE) -j2 programs bench-refs
	scripts/compare-models --bin $(BIN) $(if $(QUICK),--quick)

install: programs
	scripts/install "$(DESTDIR)" "$(PREFIX)" "$(BIN)"

clean:
	rm -rf build bin

help:
	@sed -n '/^$$/q;p' Makefile

# Keep object files of programs: they are intermediate files to make, which would delete them.
.SECONDARY:

-include $(ALL_OBJS:.o=.d)
