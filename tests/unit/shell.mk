# tests/unit/shell.mk: Check suites of the shell (config parsing, RocksDB store)
check_PROGRAMS += tests/unit/test_config tests/unit/test_rocks_store
TESTS += tests/unit/test_config tests/unit/test_rocks_store
tests_unit_test_config_SOURCES = tests/unit/test_config.c tests/unit/check_main.h
tests_unit_test_config_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_config_LDADD = libdynisshell.a libdynisutil.a $(CHECK_LIBS)
tests_unit_test_rocks_store_SOURCES = tests/unit/test_rocks_store.c tests/unit/check_main.h
tests_unit_test_rocks_store_CFLAGS = $(UNIT_CFLAGS) $(ROCKSDB_CFLAGS)
tests_unit_test_rocks_store_LDADD = libdynisshell.a $(UNIT_LDADD) $(ROCKSDB_LIBS) -lpthread
