# tests/unit/data.mk: Check suites of the data model (vclock, versions,
# mem_store).
check_PROGRAMS += tests/unit/test_vclock tests/unit/test_versions tests/unit/test_mem_store
TESTS += tests/unit/test_vclock tests/unit/test_versions tests/unit/test_mem_store

tests_unit_test_vclock_SOURCES = tests/unit/test_vclock.c tests/unit/check_main.h
tests_unit_test_vclock_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_vclock_LDADD = $(UNIT_LDADD)

tests_unit_test_versions_SOURCES = tests/unit/test_versions.c tests/unit/check_main.h
tests_unit_test_versions_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_versions_LDADD = $(UNIT_LDADD)

tests_unit_test_mem_store_SOURCES = tests/unit/test_mem_store.c tests/unit/check_main.h
tests_unit_test_mem_store_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_mem_store_LDADD = $(UNIT_LDADD)
