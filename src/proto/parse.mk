# src/proto/parse.mk: the request parser, the reply writer, the command table
# with its dispatch, and the connection and server commands.
libdynisproto_a_SOURCES += \
	src/proto/request.c src/proto/request.h \
	src/proto/reply.c \
	src/proto/command.c \
	src/proto/cmd_conn.c src/proto/cmd_conn.h
