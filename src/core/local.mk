# src/core: the pure Dynamo core. Includes only libc, src/util and itself;
# tests/unit/purity.sh proves it with nm -u. Each group of modules adds its
# sources from its own fragment.
noinst_LIBRARIES += libdyniscore.a
libdyniscore_a_SOURCES = \
	src/core/slot.c src/core/slot.h \
	src/core/store.h
include src/core/data.mk
include src/core/strop.mk
include src/core/ring.mk
include src/core/sync.mk
include src/core/node.mk
