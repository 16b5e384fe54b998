# src/core/ring.mk: the ring (claim, preference lists), the gossip view and
# the failure detector, added to libdyniscore.a.
libdyniscore_a_SOURCES += \
	src/core/ring.c src/core/ring.h \
	src/core/member.c src/core/member.h \
	src/core/fd.c src/core/fd.h
