# tests/fuzz/bus.mk: the bus decoder's fuzz harness (tests/fuzz/fuzz_bus.c),
# included at the end of tests/fuzz/local.mk (it uses its FUZZ_CFLAGS).
# make check runs it two ways: fuzz_bus_replay (the build's compiler, inputs
# mutated from seed frames by a fixed PCG seed, under the sanitizers when
# configured with them) and run_fuzz_bus.sh (clang's libFuzzer via
# `make fuzz`, skipped without clang).
FUZZ_BUS_SRC = \
	$(top_srcdir)/tests/fuzz/fuzz_bus.c \
	$(top_srcdir)/src/shell/bus_frame.c \
	$(top_srcdir)/src/util/alloc.c \
	$(top_srcdir)/src/util/buf.c \
	$(top_srcdir)/src/util/hex.c \
	$(top_srcdir)/src/util/sha256.c

tests/fuzz/fuzz_bus: $(FUZZ_BUS_SRC) $(top_srcdir)/src/shell/bus_frame.h
	@test -n "$(CLANG)" || { echo "make fuzz: clang was not found by configure" >&2; exit 1; }
	@mkdir -p tests/fuzz
	$(AM_V_CC)$(CLANG) $(FUZZ_CFLAGS) $(HIREDIS_CFLAGS) -o $@ $(FUZZ_BUS_SRC) $(HIREDIS_LIBS)

fuzz: tests/fuzz/fuzz_bus
CLEANFILES += tests/fuzz/fuzz_bus

check_PROGRAMS += tests/fuzz/fuzz_bus_replay
TESTS += tests/fuzz/fuzz_bus_replay
tests_fuzz_fuzz_bus_replay_SOURCES = tests/fuzz/fuzz_bus.c
tests_fuzz_fuzz_bus_replay_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_STANDALONE
tests_fuzz_fuzz_bus_replay_CFLAGS = $(AM_CFLAGS) $(HIREDIS_CFLAGS)
tests_fuzz_fuzz_bus_replay_LDADD = libdynisshell.a libdynisutil.a $(HIREDIS_LIBS)

dist_check_SCRIPTS += tests/fuzz/run_fuzz_bus.sh
TESTS += tests/fuzz/run_fuzz_bus.sh
