# tests/unit/strop.mk: Check suites of this group
check_PROGRAMS += tests/unit/test_strop tests/unit/test_keyspace
TESTS += tests/unit/test_strop tests/unit/test_keyspace
tests_unit_test_strop_SOURCES = tests/unit/test_strop.c tests/unit/check_main.h \
	tests/unit/strop_fixture.h
tests_unit_test_strop_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_strop_LDADD = $(UNIT_LDADD)
tests_unit_test_keyspace_SOURCES = tests/unit/test_keyspace.c tests/unit/check_main.h \
	tests/unit/strop_fixture.h
tests_unit_test_keyspace_CFLAGS = $(UNIT_CFLAGS)
# The handler cases link the proto library (cmd_keys.c, reply.c).
tests_unit_test_keyspace_LDADD = libdynisproto.a $(UNIT_LDADD)
