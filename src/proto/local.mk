# src/proto: RESP request parsing, reply writing, the command table and the
# handlers. Depends on src/core and src/util only.
noinst_LIBRARIES += libdynisproto.a
libdynisproto_a_SOURCES = \
	src/proto/command.h \
	src/proto/reply.h
include src/proto/parse.mk
include src/proto/keys.mk
include src/proto/cluster.mk
