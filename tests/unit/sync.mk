# tests/unit/sync.mk: Check suites of this group
