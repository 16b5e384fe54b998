# src/shell: the thin adapters: main, config, the libevent server, the
# RocksDB store, jemalloc figures. Only this directory links the libraries.
# libdynisshell.a holds everything but main.c, so unit tests can link it.
noinst_LIBRARIES += libdynisshell.a
libdynisshell_a_SOURCES = \
	src/shell/client.c src/shell/client.h \
	src/shell/config.c src/shell/config.h \
	src/shell/info.c src/shell/info.h \
	src/shell/log.c src/shell/log.h \
	src/shell/meminfo.c src/shell/meminfo.h \
	src/shell/rocks_store.c src/shell/rocks_store.h \
	src/shell/server.c src/shell/server.h \
	src/shell/server_api.c \
	src/shell/read_cache.c src/shell/read_cache.h \
	src/shell/server_node.c \
	src/shell/write_stage.c src/shell/write_stage.h
libdynisshell_a_CFLAGS = $(AM_CFLAGS) $(ROCKSDB_CFLAGS) $(LIBEVENT_CFLAGS) $(JEMALLOC_CFLAGS)

bin_PROGRAMS += dynis-server
dynis_server_SOURCES = src/shell/main.c
dynis_server_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS)
dynis_server_LDADD = libdynisshell.a libdynisproto.a libdyniscore.a libdynisutil.a \
	$(ROCKSDB_LIBS) $(LIBEVENT_LIBS) $(HIREDIS_LIBS) $(JEMALLOC_LIBS) -lm -lpthread

dist_sysconf_DATA += dynis.conf
include src/shell/bus.mk
