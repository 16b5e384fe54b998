#!/usr/bin/python3
"""fault_hint_holder.py - fault scenario 4: node 3 of four is cut off under a
write load, so the others keep hints for it; the node holding the most hints
is killed (kill -9) before it can deliver them; the load stops and node 3
is healed. The
hints that died with their holder are never delivered, yet anti-entropy
(Merkle exchanges with the replicas that took those writes) brings node 3 up
to date: the surviving replicas of every written key agree and nothing
acknowledged is lost. The holder then restarts and the whole cluster
converges."""

import os
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
import faultlib as fl  # noqa: E402

LOAD_SECONDS = 3
CUT_SECONDS = 6


def alive_of(cluster, holder):
    return [n for n in cluster.nodes if n is not holder]


def main():
    res = fl.Results("fault_hint_holder")
    cluster = fl.Cluster(4, "hintholder")
    history = os.path.join(cluster.workdir, "history.jsonl")
    wl = fl.Workload(cluster, cluster.nodes[:3], history, seed=4)
    time.sleep(LOAD_SECONDS)
    owner = cluster.nodes[3]
    fl.log("cutting node 3 (%s) off" % owner.ip)
    cluster.net.cut(3)
    time.sleep(CUT_SECONDS)
    pending = [(int(n.info().get("hints_pending", "0")), n) for n in cluster.nodes[:3]]
    count, holder = max(pending, key=lambda p: p[0])
    fl.log("kill -9 node %d (%s), holding %d hints" % (holder.i, holder.ip, count))
    res.check(count > 0, "a node holds hints for the cut-off node (%d)" % count)
    holder.kill9()
    rest = [n for n in cluster.nodes[:3] if n is not holder]
    for t, n in enumerate(wl.via):
        if n is holder:
            wl.move(t, rest[0])
    time.sleep(LOAD_SECONDS)
    wl.stop()
    ae_before = cluster.sum_info("ae_keys_exchanged", alive_of(cluster, holder))
    cluster.net.heal_cut(3)
    fl.log("node 3 healed; the load stopped, so only anti-entropy can repair it")
    alive = alive_of(cluster, holder)
    ok, secs, dump = fl.wait_converged(cluster, alive, history, hints=False)
    ae = cluster.sum_info("ae_keys_exchanged", alive) - ae_before
    fl.figures(cluster, "hint holder down", wl, secs, alive)
    res.check(ok, "with the hint holder down, the other replicas agree %.1f s after the "
              "heal (anti-entropy keys exchanged %d)" % (secs, ae))
    res.check(ae > 0, "anti-entropy exchanged keys after the heal (%d)" % ae)
    res.run_checker(history, dump, "hint holder down",
                    os.path.join(cluster.workdir, "dump.json"))
    holder.start()
    fl.log("node %d restarted" % holder.i)
    ok, secs, dump = fl.wait_converged(cluster, cluster.nodes, history)
    fl.figures(cluster, "holder back", wl, secs)
    res.check(ok, "with the holder back, all replicas agree %.1f s later" % secs)
    res.run_checker(history, dump, "holder back", os.path.join(cluster.workdir, "dump2.json"))
    res.finish()


if __name__ == "__main__":
    main()
