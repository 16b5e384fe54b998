# tests/sim/local.mk: filled in by its owner
