# src/proto/keys.mk: keyspace command handlers
libdynisproto_a_SOURCES += \
	src/proto/cmd_keys.c src/proto/cmd_keys.h
