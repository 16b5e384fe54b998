# tests/unit/data.mk: Check suites of this group
