# src/core/sync.mk: sources of this group, added to libdyniscore.a
# merkle (hash tree over slots), hint (hinted handoff), ae (anti-entropy).
libdyniscore_a_SOURCES += \
	src/core/merkle.c src/core/merkle.h \
	src/core/hint.c src/core/hint.h \
	src/core/ae.c src/core/ae.h
