# redis-tests/local.mk - compatibility suites: the differential tests against
# a real redis-server (compat.py over cases.txt, exceptions.txt; the seeded
# random sequences of compat_random.py), and real clients (redis-cli,
# redis-benchmark, python3-redis) against dynis-server,
# and cluster clients against a 3-node cluster (cluster_clients.sh).
# `make check` builds dynis-server (all) before it runs them; each script gets
# $DYNIS_SERVER from AM_TESTS_ENVIRONMENT and skips (77) without redis-server.
REDIS_TESTS = \
	redis-tests/compat_self.sh \
	redis-tests/compat.py \
	redis-tests/compat_random.py \
	redis-tests/redis_cli.sh \
	redis-tests/redis_benchmark.sh \
	redis-tests/python_redis.py \
	redis-tests/cluster_clients.sh
dist_check_SCRIPTS += $(REDIS_TESTS)
TESTS += $(REDIS_TESTS)
EXTRA_DIST += \
	redis-tests/harness.py \
	redis-tests/lib.sh \
	redis-tests/cases.txt \
	redis-tests/exceptions.txt \
	redis-tests/README
