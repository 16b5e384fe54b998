# tests/unit/sync.mk: Check suites of merkle, hint and ae (anti-entropy),
# run over the in-memory store.
check_PROGRAMS += tests/unit/test_merkle tests/unit/test_hint tests/unit/test_ae
TESTS += tests/unit/test_merkle tests/unit/test_hint tests/unit/test_ae

tests_unit_test_merkle_SOURCES = tests/unit/test_merkle.c tests/unit/check_main.h
tests_unit_test_merkle_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_merkle_LDADD = $(UNIT_LDADD)

tests_unit_test_hint_SOURCES = tests/unit/test_hint.c tests/unit/check_main.h
tests_unit_test_hint_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_hint_LDADD = $(UNIT_LDADD)

tests_unit_test_ae_SOURCES = tests/unit/test_ae.c tests/unit/check_main.h
tests_unit_test_ae_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_ae_LDADD = $(UNIT_LDADD)
