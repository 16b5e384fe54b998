# tests/unit/node.mk: Check suites of the node group (bus messages, the
# coordinator, the background budget, the node), and the purity check of the
# core library.
check_PROGRAMS += tests/unit/test_msg tests/unit/test_coord tests/unit/test_budget \
	tests/unit/test_node
TESTS += tests/unit/test_msg tests/unit/test_coord tests/unit/test_budget tests/unit/test_node
tests_unit_test_msg_SOURCES = tests/unit/test_msg.c tests/unit/check_main.h
tests_unit_test_msg_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_msg_LDADD = $(UNIT_LDADD)
tests_unit_test_coord_SOURCES = tests/unit/test_coord.c tests/unit/check_main.h
tests_unit_test_coord_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_coord_LDADD = $(UNIT_LDADD)
tests_unit_test_budget_SOURCES = tests/unit/test_budget.c tests/unit/check_main.h
tests_unit_test_budget_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_budget_LDADD = $(UNIT_LDADD)
tests_unit_test_node_SOURCES = tests/unit/test_node.c tests/unit/check_main.h
tests_unit_test_node_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_node_LDADD = $(UNIT_LDADD)

dist_check_SCRIPTS += tests/unit/purity.sh
TESTS += tests/unit/purity.sh
