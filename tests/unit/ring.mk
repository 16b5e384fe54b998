# tests/unit/ring.mk: Check suites of this group
