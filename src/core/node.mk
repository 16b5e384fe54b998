# src/core/node.mk: bus messages, the coordinator's quorum state machines,
# the background budget and the node (the one entry point of the core),
# added to libdyniscore.a.
libdyniscore_a_SOURCES += \
	src/core/budget.c src/core/budget.h \
	src/core/msg.c src/core/msg.h \
	src/core/coord.c src/core/coord.h \
	src/core/node.c src/core/node.h src/core/node_int.h \
	src/core/node_data.c src/core/node_cluster.c src/core/node_reap.c
