#!/usr/bin/python3
"""fault_wipe.py - fault scenario 5: node 1 of four is stopped under a write
load, its data directory is wiped, and it restarts with the same --node-id:
it keeps its place in the ring with a new vector-clock actor (a new
incarnation; README "Losing a disk"), and anti-entropy rebuilds every key
it replicates, including those written before the wipe, with nothing
acknowledged lost and every replica identical."""

import os
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
import faultlib as fl  # noqa: E402

LOAD_SECONDS = 3


def actor(node):
    return node.info().get("actor")


def main():
    res = fl.Results("fault_wipe")
    cluster = fl.Cluster(4, "wipe")
    history = os.path.join(cluster.workdir, "history.jsonl")
    wl = fl.Workload(cluster, cluster.nodes, history, seed=5)
    time.sleep(LOAD_SECONDS)
    victim = cluster.nodes[1]
    old_actor = actor(victim)
    fl.log("kill -9 node 1 (%s) and wipe %s" % (victim.ip, victim.data))
    victim.kill9()
    victim.wipe()
    time.sleep(LOAD_SECONDS)
    victim.start()
    new_actor = actor(victim)
    fl.log("node 1 restarted empty: actor %s, was %s" % (new_actor, old_actor))
    res.check(new_actor != old_actor, "the wiped node draws a new actor (%s -> %s)" %
              (old_actor, new_actor))
    time.sleep(LOAD_SECONDS)
    wl.stop()
    ok, secs, dump = fl.wait_converged(cluster, cluster.nodes, history)
    fl.figures(cluster, "wipe", wl, secs)
    res.check(ok, "the wiped node is rebuilt: replicas identical %.1f s after the load" % secs)
    keys = int(victim.client().execute_command("DBSIZE"))
    res.check(keys > 0, "the wiped node holds %d keys again" % keys)
    res.run_checker(history, dump, "wipe", os.path.join(cluster.workdir, "dump.json"))
    res.finish()


if __name__ == "__main__":
    main()
