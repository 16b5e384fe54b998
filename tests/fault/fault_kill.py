#!/usr/bin/python3
"""fault_kill.py - fault scenario 3: kill -9 of one node of four under a
write load from four clients, 4 s down, then a restart on the same data
directory. Every write is in RocksDB's log before it is acknowledged, so
nothing acknowledged is lost (by the killed node or by the cluster), and the
replicas agree again once the node is back."""

import os
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
import faultlib as fl  # noqa: E402

LOAD_SECONDS = 3
DOWN_SECONDS = 4


def main():
    res = fl.Results("fault_kill")
    cluster = fl.Cluster(4, "kill")
    history = os.path.join(cluster.workdir, "history.jsonl")
    wl = fl.Workload(cluster, cluster.nodes, history, seed=3)
    time.sleep(LOAD_SECONDS)
    victim = cluster.nodes[2]
    fl.log("kill -9 node 2 (%s)" % victim.ip)
    victim.kill9()
    time.sleep(DOWN_SECONDS)
    victim.start()
    fl.log("node 2 restarted")
    time.sleep(LOAD_SECONDS)
    wl.stop()
    ok, secs, dump = fl.wait_converged(cluster, cluster.nodes, history)
    fl.figures(cluster, "kill", wl, secs)
    res.check(ok, "replicas identical and no hint pending %.1f s after the restart" % secs)
    res.check(wl.acked > 0, "writes acknowledged under load (%d)" % wl.acked)
    res.run_checker(history, dump, "kill", os.path.join(cluster.workdir, "dump.json"))
    res.finish()


if __name__ == "__main__":
    main()
