# tests/unit/strop.mk: Check suites of this group
