#!/usr/bin/python3
"""cluster_fake_client.py - python3-redis's RedisCluster against the fake
cluster (cluster_fake.sh): discovery from CLUSTER SLOTS, then SET and GET of
KEYS keys routed by it, and the parsers of CLUSTER NODES, SLOTS, SHARDS and
INFO. Exits non-zero, with the reason on stderr, on any failure.

    cluster_fake_client.py PORT NODES
"""
import sys
import time

from redis.cluster import RedisCluster

KEYS = 300
SLOT_COUNT = 16384


def text(v):
    return v.decode() if isinstance(v, bytes) else v


def main():
    port, nodes = int(sys.argv[1]), int(sys.argv[2])
    started = time.monotonic()
    rc = RedisCluster(host="127.0.0.1", port=port)
    print("RedisCluster discovery: %.2f s" % (time.monotonic() - started))
    assert len(rc.get_primaries()) == nodes, rc.get_nodes()
    assert not rc.get_replicas(), rc.get_nodes()
    for i in range(KEYS):
        assert rc.set("key:%d" % i, "v%d" % i)
    for i in range(KEYS):
        assert rc.get("key:%d" % i) == b"v%d" % i
    parsed = rc.cluster_nodes()
    assert len(parsed) == nodes, parsed
    slots = set()
    for node in parsed.values():
        for r in node["slots"]:
            slots.update(range(int(r[0]), int(r[-1]) + 1))
    assert len(slots) == SLOT_COUNT, len(slots)
    ranges = rc.cluster_slots()
    assert sum(b - a + 1 for a, b in ranges) == SLOT_COUNT
    shards = rc.cluster_shards()
    assert len(shards) == nodes, shards
    for shard in shards:
        roles = [{text(k): text(v) for k, v in n.items()}["role"] for n in shard["nodes"]]
        assert roles[0] == "master" and all(r == "replica" for r in roles[1:]), roles
    assert rc.cluster_info()["cluster_state"] == "ok"
    rc.close()


if __name__ == "__main__":
    main()
