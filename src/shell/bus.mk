# src/shell/bus.mk: the node-to-node bus (bus.c on sockets and hiredis async,
# bus_frame.c the socket-free wire protocol). The SHA-256 it authenticates
# with is in src/util (src/util/local.mk).
libdynisshell_a_SOURCES += \
	src/shell/bus.c src/shell/bus.h \
	src/shell/bus_frame.c src/shell/bus_frame.h
libdynisshell_a_CFLAGS += $(HIREDIS_CFLAGS)
