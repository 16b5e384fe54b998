# tests/unit/proto.mk: Check suites of this group
