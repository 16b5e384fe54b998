#!/usr/bin/python3
"""fault_cutoff.py - fault scenario 1: one node of four cut off from the
network for 10 s under a write load from four clients (one per node), then
healed. Its writes go to the next healthy node with hints (sloppy quorum);
after the heal the hints are delivered and every replica of every written
key is identical, with no acknowledged write or cart item lost (see
faultlib.py and check_history.py)."""

import os
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
import faultlib as fl  # noqa: E402

CUT_SECONDS = 10
LOAD_SECONDS = 3


def main():
    res = fl.Results("fault_cutoff")
    cluster = fl.Cluster(4, "cutoff")
    history = os.path.join(cluster.workdir, "history.jsonl")
    wl = fl.Workload(cluster, cluster.nodes, history, seed=1)
    time.sleep(LOAD_SECONDS)
    victim = cluster.nodes[3]
    fl.log("cutting node 3 (%s) off for %d s" % (victim.ip, CUT_SECONDS))
    cluster.net.cut(3)
    time.sleep(CUT_SECONDS)
    stored = cluster.sum_info("hints_stored", cluster.nodes[:3])
    cluster.net.heal_cut(3)
    healed_at = time.monotonic()
    fl.log("healed; %d hints stored meanwhile" % stored)
    time.sleep(LOAD_SECONDS)
    wl.stop()
    ok, secs, dump = fl.wait_converged(cluster, cluster.nodes, history)
    fl.figures(cluster, "cutoff", wl, secs)
    res.check(ok, "replicas identical and no hint pending %.1f s after the load stopped, "
              "%.1f s after the heal" % (secs, time.monotonic() - healed_at))
    res.check(stored > 0, "writes for the cut-off node were kept as hints (%d)" % stored)
    delivered = cluster.sum_info("hints_delivered")
    res.check(delivered > 0, "hints delivered after the heal (%d)" % delivered)
    res.check(wl.acked > 0, "writes acknowledged under load (%d)" % wl.acked)
    res.run_checker(history, dump, "cutoff", os.path.join(cluster.workdir, "dump.json"))
    res.finish()


if __name__ == "__main__":
    main()
