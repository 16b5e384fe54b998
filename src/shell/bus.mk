# src/shell/bus.mk: the node-to-node bus (bus.c on sockets and hiredis async,
# bus_frame.c the socket-free wire protocol) and the SHA-256 it authenticates
# with. sha256 is pure and joins libdynisutil.a from here.
libdynisshell_a_SOURCES += \
	src/shell/bus.c src/shell/bus.h \
	src/shell/bus_frame.c src/shell/bus_frame.h
libdynisshell_a_CFLAGS += $(HIREDIS_CFLAGS)
libdynisutil_a_SOURCES += src/util/sha256.c src/util/sha256.h
