# tests/fuzz/local.mk: the libFuzzer harness of the request parser.
#
# `make fuzz` builds tests/fuzz/fuzz_request with $(CLANG) (found by
# configure) straight from the sources, not through automake's CC, so that
# it gets -fsanitize=fuzzer whatever compiler the rest of the build uses.
# run_fuzz_short.sh (in TESTS) builds it and fuzzes for a bounded time from
# the seed corpus in tests/fuzz/corpus/request/.
FUZZ_REQUEST_SRC = \
	$(top_srcdir)/tests/fuzz/fuzz_request.c \
	$(top_srcdir)/src/proto/request.c \
	$(top_srcdir)/src/util/alloc.c \
	$(top_srcdir)/src/util/buf.c \
	$(top_srcdir)/src/util/hex.c \
	$(top_srcdir)/src/util/pcg.c \
	$(top_srcdir)/src/util/splitargs.c \
	$(top_srcdir)/src/util/strconv.c
FUZZ_CFLAGS = -g -O1 -std=gnu11 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -I$(top_srcdir)/src -I$(top_builddir)

tests/fuzz/fuzz_request: $(FUZZ_REQUEST_SRC) $(top_srcdir)/src/proto/request.h
	@test -n "$(CLANG)" || { echo "make fuzz: clang was not found by configure" >&2; exit 1; }
	@mkdir -p tests/fuzz
	$(AM_V_CC)$(CLANG) $(FUZZ_CFLAGS) -o $@ $(FUZZ_REQUEST_SRC)

fuzz: tests/fuzz/fuzz_request
.PHONY: fuzz

CLEANFILES += tests/fuzz/fuzz_request
EXTRA_DIST += tests/fuzz/fuzz_request.c tests/fuzz/corpus tests/fuzz/fuzz_run.sh
dist_check_SCRIPTS += tests/fuzz/run_fuzz_short.sh
TESTS += tests/fuzz/run_fuzz_short.sh

# The bus decoder's harness (owned by the bus work) shares FUZZ_CFLAGS.
include tests/fuzz/bus.mk
