# tests/unit/cluster.mk: the Check suite of src/proto/cluster_reply, and the
# client-compatibility test that serves its replies to redis-cli,
# redis-benchmark and python3-redis (tests/unit/cluster_fake*).
check_PROGRAMS += tests/unit/test_cluster_reply
TESTS += tests/unit/test_cluster_reply
tests_unit_test_cluster_reply_SOURCES = tests/unit/test_cluster_reply.c tests/unit/check_main.h
tests_unit_test_cluster_reply_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_cluster_reply_LDADD = libdynisproto.a $(UNIT_LDADD)

# The fake cluster: cluster_fake_render writes the replies of a 3-node ring,
# cluster_fake.py serves them (and GET/SET) on three ports, cluster_fake.sh
# points redis-cli -c, redis-cli --cluster check, redis-benchmark --cluster
# and python3-redis's RedisCluster at it.
check_PROGRAMS += tests/unit/cluster_fake_render
tests_unit_cluster_fake_render_SOURCES = tests/unit/cluster_fake_render.c
tests_unit_cluster_fake_render_CFLAGS = $(AM_CFLAGS)
tests_unit_cluster_fake_render_LDADD = libdynisproto.a libdyniscore.a libdynisutil.a
dist_check_SCRIPTS += tests/unit/cluster_fake.sh
TESTS += tests/unit/cluster_fake.sh
EXTRA_DIST += tests/unit/cluster_fake.py tests/unit/cluster_fake_client.py
