# src/core/strop.mk: sources of this group, added to libdyniscore.a
libdyniscore_a_SOURCES += \
	src/core/strop.c src/core/strop.h \
	src/core/keyspace.c src/core/keyspace.h
