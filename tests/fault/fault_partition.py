#!/usr/bin/python3
"""fault_partition.py - fault scenario 2: a cluster of five split 2/3 for
8 s while five clients (one per node) add items to the same few carts on
both sides. Both sides keep accepting writes (sloppy quorum; a client whose
read fails adds its item blind, with context ""), so after the heal the
carts hold siblings; nothing acknowledged is lost, the replicas agree, and
resolving every cart through DYN.GET + DYN.PUT (the union of the siblings)
leaves one version holding every item, the same on every replica."""

import os
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
import faultlib as fl  # noqa: E402

SPLIT_SECONDS = 8
LOAD_SECONDS = 2
CARTS = 4
RESOLVE_ROUNDS_MAX = 5


def resolve(cluster, carts, history):
    """DYN.GET each cart and DYN.PUT the union of its siblings (recorded in
    the history), each through another node; returns how many had
    siblings."""
    had = 0
    for i, key in enumerate(carts):
        c = cluster.nodes[i % len(cluster.nodes)].client()
        got = c.execute_command("DYN.GET", key)
        if len(got) > 2:
            had += 1
            observed = [v.decode() for v in got[1:]]
            value = ",".join(sorted(fl.cart_items(observed)))
            rec = {"kind": "resolve", "key": key, "value": value, "observed": observed,
                   "client": -1, "status": "maybe"}
            try:
                if c.execute_command("DYN.PUT", key, got[0], value) in (b"OK", True):
                    rec["status"] = "ack"
            finally:
                fl.append_history(history, rec)
    return had


def versions_per_replica(dump, key):
    """How many values each replica of key holds in dump (-1: no answer)."""
    return [len(v[1]) if v is not None else -1 for v in dump["keys"].get(key, {}).values()]


def max_versions(dump, key):
    return max(versions_per_replica(dump, key), default=0)


def min_versions(dump, key):
    return min(versions_per_replica(dump, key), default=0)


def main():
    res = fl.Results("fault_partition")
    cluster = fl.Cluster(5, "partition")
    history = os.path.join(cluster.workdir, "history.jsonl")
    wl = fl.Workload(cluster, cluster.nodes, history, carts=CARTS, cart_share=0.8, seed=2)
    time.sleep(LOAD_SECONDS)
    side_a, side_b = [0, 1], [2, 3, 4]
    fl.log("partition %s | %s for %d s" % (side_a, side_b, SPLIT_SECONDS))
    cluster.net.partition(side_a, side_b)
    time.sleep(SPLIT_SECONDS)
    wl.stop()
    cluster.net.heal_partition(side_a, side_b)
    fl.log("healed")
    ok, secs, dump = fl.wait_converged(cluster, cluster.nodes, history)
    fl.figures(cluster, "partition", wl, secs)
    res.check(ok, "replicas identical and no hint pending %.1f s after the heal" % secs)
    res.run_checker(history, dump, "partition (before resolving)",
                    os.path.join(cluster.workdir, "dump.json"))
    carts = ["cart:%d" % i for i in range(CARTS)]
    with_siblings = [k for k in carts if max_versions(dump, k) > 1]
    res.check(len(with_siblings) > 0, "carts written on both sides have siblings after the "
              "heal (%d of %d)" % (len(with_siblings), CARTS))
    for _ in range(RESOLVE_ROUNDS_MAX):
        if resolve(cluster, carts, history) == 0:
            break
    ok, secs, dump = fl.wait_converged(cluster, cluster.nodes, history)
    res.check(ok, "replicas identical %.1f s after resolving" % secs)
    single = all(max_versions(dump, k) == 1 and min_versions(dump, k) == 1 for k in carts)
    res.check(single, "every cart holds one version on every replica after DYN.PUT")
    res.run_checker(history, dump, "partition (after resolving)",
                    os.path.join(cluster.workdir, "dump2.json"))
    res.finish()


if __name__ == "__main__":
    main()
