# src/core/data.mk: the data model of the core, added to libdyniscore.a:
# vector clocks, version sets (dotted version vectors) and the in-memory store.
libdyniscore_a_SOURCES += \
	src/core/vclock.c src/core/vclock.h \
	src/core/versions.c src/core/versions.h \
	src/core/mem_store.c src/core/mem_store.h
