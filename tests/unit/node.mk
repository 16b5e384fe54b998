# tests/unit/node.mk: Check suites of this group
