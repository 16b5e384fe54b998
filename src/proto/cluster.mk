# src/proto/cluster.mk: the replies of the CLUSTER command family (INFO,
# NODES, SLOTS, SHARDS, MYID, KEYSLOT), rendered from the ring and the view;
# the CLUSTER handler; RESP for the node's answers and multi-key gathering.
libdynisproto_a_SOURCES += \
	src/proto/cluster_reply.c src/proto/cluster_reply.h \
	src/proto/cmd_cluster.c src/proto/cmd_cluster.h \
	src/proto/coord_reply_write.c src/proto/coord_reply_write.h
