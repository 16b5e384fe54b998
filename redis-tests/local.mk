# redis-tests/local.mk: filled in by its owner
