# tests/unit/ring.mk: Check suites of the ring, member and fd modules.
check_PROGRAMS += tests/unit/test_ring tests/unit/test_member tests/unit/test_fd
TESTS += tests/unit/test_ring tests/unit/test_member tests/unit/test_fd
tests_unit_test_ring_SOURCES = tests/unit/test_ring.c tests/unit/check_main.h
tests_unit_test_ring_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_ring_LDADD = $(UNIT_LDADD)
tests_unit_test_member_SOURCES = tests/unit/test_member.c tests/unit/check_main.h
tests_unit_test_member_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_member_LDADD = $(UNIT_LDADD)
tests_unit_test_fd_SOURCES = tests/unit/test_fd.c tests/unit/check_main.h
tests_unit_test_fd_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_fd_LDADD = $(UNIT_LDADD)
