#!/usr/bin/python3
"""fault_join_leave.py - fault scenario 6: under a write load from four
clients, a fifth node joins a cluster of four (CLUSTER MEET) and takes its
share of the slots, streamed from the previous owners; then node 1 leaves
(CLUSTER LEAVE, run on node 1), handing its slots off, and is stopped once
its leave is done (INFO dynamo leave_done:1) and the others dropped it from
their views (README "Leaving and forgetting"). No acknowledged write is lost, the replicas of every
key (by the final ring) agree, and slot ownership is balanced: every slot
is covered, only by the remaining nodes, each owning its share of the 16384
slots (INFO dynamo owned_slots, CLUSTER SLOTS) within BALANCE_SLOTS_MAX."""

import os
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
import faultlib as fl  # noqa: E402

LOAD_SECONDS = 3
SLOTS = 16384
# A join or a leave moves the joining or leaving node's share plus at most a
# chunk of 32 slots per other node (README "The ring"): each node's share
# stays within a few chunks of the ideal.
BALANCE_SLOTS_MAX = 4 * 32
HANDOFF_SECONDS_MAX = 90.0


def owned(node):
    return int(node.info().get("owned_slots", "-1"))


def slots_cover(cluster, node, members):
    """True when node's CLUSTER SLOTS covers every slot, with masters and
    replicas only among members."""
    ips = {n.ip for n in members}
    rmap = cluster.replica_map(node)
    return len(rmap) == SLOTS and all(set(v) <= ips and v for v in rmap.values())


def known_nodes(node):
    return int(node.client().execute_command("CLUSTER", "INFO").decode()
               .split("cluster_known_nodes:")[1].split()[0])


def wait_left(cluster, node):
    """Waits until node says its leave is done and every member dropped it;
    returns (done, seconds)."""
    deadline = time.monotonic() + HANDOFF_SECONDS_MAX
    start = time.monotonic()
    while time.monotonic() < deadline:
        if node.info().get("leave_done") == "1" and all(
                known_nodes(m) == len(cluster.members) for m in cluster.members):
            return True, time.monotonic() - start
        time.sleep(fl.POLL_SECONDS)
    return False, time.monotonic() - start


def main():
    res = fl.Results("fault_join_leave")
    cluster = fl.Cluster(4, "joinleave")
    history = os.path.join(cluster.workdir, "history.jsonl")
    wl = fl.Workload(cluster, cluster.nodes, history, seed=6)
    time.sleep(LOAD_SECONDS)
    joiner = cluster.add_node()
    fl.log("node 4 (%s) joined by CLUSTER MEET" % joiner.ip)
    cluster.wait_agree(cluster.members)
    fl.log("5 nodes agree; node 4 owns %d slots" % owned(joiner))
    time.sleep(LOAD_SECONDS)
    leaver = cluster.nodes[1]
    leaver.client().execute_command("CLUSTER", "LEAVE")
    cluster.members.remove(leaver)
    wl.move(1, joiner)
    fl.log("node 1 (%s) left by CLUSTER LEAVE" % leaver.ip)
    cluster.wait_agree(cluster.members)
    done, secs = wait_left(cluster, leaver)
    res.check(done, "the leaving node handed its keys off and was dropped in %.1f s" % secs)
    leaver.stop()
    time.sleep(LOAD_SECONDS)
    wl.stop()
    ok, secs, dump = fl.wait_converged(cluster, cluster.members, history)
    fl.figures(cluster, "join+leave", wl, secs, cluster.members)
    res.check(ok, "replicas identical by the final ring %.1f s after the load" % secs)
    shares = [owned(n) for n in cluster.members]
    ideal = SLOTS // len(cluster.members)
    fl.log("owned slots: %s (ideal %d)" % (shares, ideal))
    res.check(sum(shares) == SLOTS and all(abs(s - ideal) <= BALANCE_SLOTS_MAX for s in shares),
              "slot ownership balanced after the join and the leave: %s" % shares)
    res.check(all(slots_cover(cluster, n, cluster.members) for n in cluster.members),
              "CLUSTER SLOTS covers every slot with the remaining nodes only, on every node")
    res.run_checker(history, dump, "join+leave", os.path.join(cluster.workdir, "dump.json"))
    res.finish()


if __name__ == "__main__":
    main()
