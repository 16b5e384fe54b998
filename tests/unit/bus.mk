# tests/unit/bus.mk: Check suites of the bus (two buses over loopback) and of
# the SHA-256 / HMAC it authenticates with.
check_PROGRAMS += tests/unit/test_bus tests/unit/test_sha256
TESTS += tests/unit/test_bus tests/unit/test_sha256
tests_unit_test_bus_SOURCES = tests/unit/test_bus.c tests/unit/check_main.h
tests_unit_test_bus_CFLAGS = $(UNIT_CFLAGS) $(LIBEVENT_CFLAGS) $(HIREDIS_CFLAGS)
tests_unit_test_bus_LDADD = libdynisshell.a libdynisutil.a $(CHECK_LIBS) \
	$(HIREDIS_LIBS) $(LIBEVENT_LIBS)
tests_unit_test_sha256_SOURCES = tests/unit/test_sha256.c tests/unit/check_main.h
tests_unit_test_sha256_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_sha256_LDADD = $(UNIT_LDADD)
