# tests/unit/proto.mk: Check suites of src/proto (parser, replies, command
# table and connection commands).
PROTO_UNIT_LDADD = libdynisproto.a $(UNIT_LDADD)

check_PROGRAMS += tests/unit/test_request tests/unit/test_reply
TESTS += tests/unit/test_request tests/unit/test_reply

tests_unit_test_request_SOURCES = tests/unit/test_request.c tests/unit/check_main.h
tests_unit_test_request_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_request_LDADD = $(PROTO_UNIT_LDADD)

tests_unit_test_reply_SOURCES = tests/unit/test_reply.c tests/unit/check_main.h
tests_unit_test_reply_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_reply_LDADD = $(PROTO_UNIT_LDADD)

check_PROGRAMS += tests/unit/test_command
TESTS += tests/unit/test_command
tests_unit_test_command_SOURCES = tests/unit/test_command.c tests/unit/check_main.h
tests_unit_test_command_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_command_LDADD = $(PROTO_UNIT_LDADD)

# The node's answers as RESP, multi-key gathering, and the keyed handlers on
# a lone node (test_cmd_node).
check_PROGRAMS += tests/unit/test_cmd_node
TESTS += tests/unit/test_cmd_node
tests_unit_test_cmd_node_SOURCES = tests/unit/test_cmd_node.c tests/unit/check_main.h
tests_unit_test_cmd_node_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_cmd_node_LDADD = $(PROTO_UNIT_LDADD)
