# tests/unit: one Check suite per module; each group adds its suites from its
# own fragment. UNIT_LDADD links the pure libraries.
UNIT_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
UNIT_LDADD = libdyniscore.a libdynisutil.a $(CHECK_LIBS)

check_PROGRAMS += tests/unit/test_util
TESTS += tests/unit/test_util
tests_unit_test_util_SOURCES = tests/unit/test_util.c tests/unit/check_main.h
tests_unit_test_util_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_util_LDADD = $(UNIT_LDADD)

include tests/unit/data.mk
include tests/unit/strop.mk
include tests/unit/proto.mk
include tests/unit/shell.mk
include tests/unit/ring.mk
include tests/unit/sync.mk
include tests/unit/node.mk
include tests/unit/bus.mk
include tests/unit/cluster.mk
