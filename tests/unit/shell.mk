# tests/unit/shell.mk: Check suites of this group
