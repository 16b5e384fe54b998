# tests/integration/local.mk - real dynis-server processes driven over TCP
# with hiredis, as Check suites. procs.{c,h} start and stop servers (reused
# by cluster.{c,h}: clusters of nodes formed by CLUSTER MEET, for
# test_cluster, test_background and test_placement), expect.{c,h} assert on replies.
# The suites run $DYNIS_SERVER (set by AM_TESTS_ENVIRONMENT) and depend on
# the installed programs, so `make check` builds dynis-server first.
INTEGRATION_CFLAGS = $(AM_CFLAGS) -I$(top_srcdir)/tests/unit $(HIREDIS_CFLAGS) $(CHECK_CFLAGS)
INTEGRATION_LDADD = $(HIREDIS_LIBS) $(CHECK_LIBS)
INTEGRATION_COMMON = \
	tests/integration/procs.c tests/integration/procs.h \
	tests/integration/expect.c tests/integration/expect.h \
	tests/unit/check_main.h

check_PROGRAMS += \
	tests/integration/test_commands \
	tests/integration/test_lifecycle \
	tests/integration/test_badinput \
	tests/integration/test_cluster
TESTS += \
	tests/integration/test_commands \
	tests/integration/test_lifecycle \
	tests/integration/test_badinput \
	tests/integration/test_cluster

tests_integration_test_commands_SOURCES = tests/integration/test_commands.c $(INTEGRATION_COMMON)
tests_integration_test_commands_CFLAGS = $(INTEGRATION_CFLAGS)
tests_integration_test_commands_LDADD = $(INTEGRATION_LDADD)
EXTRA_tests_integration_test_commands_DEPENDENCIES = $(bin_PROGRAMS)

tests_integration_test_lifecycle_SOURCES = tests/integration/test_lifecycle.c $(INTEGRATION_COMMON)
tests_integration_test_lifecycle_CFLAGS = $(INTEGRATION_CFLAGS)
tests_integration_test_lifecycle_LDADD = $(INTEGRATION_LDADD)
EXTRA_tests_integration_test_lifecycle_DEPENDENCIES = $(bin_PROGRAMS)

tests_integration_test_badinput_SOURCES = tests/integration/test_badinput.c $(INTEGRATION_COMMON)
tests_integration_test_badinput_CFLAGS = $(INTEGRATION_CFLAGS)
tests_integration_test_badinput_LDADD = $(INTEGRATION_LDADD)
EXTRA_tests_integration_test_badinput_DEPENDENCIES = $(bin_PROGRAMS)

tests_integration_test_cluster_SOURCES = tests/integration/test_cluster.c \
	tests/integration/cluster.c tests/integration/cluster.h $(INTEGRATION_COMMON)
tests_integration_test_cluster_CFLAGS = $(INTEGRATION_CFLAGS)
tests_integration_test_cluster_LDADD = $(INTEGRATION_LDADD)
EXTRA_tests_integration_test_cluster_DEPENDENCIES = $(bin_PROGRAMS)

check_PROGRAMS += tests/integration/test_background
TESTS += tests/integration/test_background
tests_integration_test_background_SOURCES = tests/integration/test_background.c \
	tests/integration/cluster.c tests/integration/cluster.h $(INTEGRATION_COMMON)
tests_integration_test_background_CFLAGS = $(INTEGRATION_CFLAGS)
tests_integration_test_background_LDADD = $(INTEGRATION_LDADD)
EXTRA_tests_integration_test_background_DEPENDENCIES = $(bin_PROGRAMS)

check_PROGRAMS += tests/integration/test_placement
TESTS += tests/integration/test_placement
tests_integration_test_placement_SOURCES = tests/integration/test_placement.c \
	tests/integration/cluster.c tests/integration/cluster.h $(INTEGRATION_COMMON)
tests_integration_test_placement_CFLAGS = $(INTEGRATION_CFLAGS)
tests_integration_test_placement_LDADD = $(INTEGRATION_LDADD)
EXTRA_tests_integration_test_placement_DEPENDENCIES = $(bin_PROGRAMS)
