#!/usr/bin/python3
"""check_history.py - the fault tests' checker: reads a workload's history
and the final state of every replica, and fails on a lost write, a replica
that differs from another, or a lost add-to-cart item.

    check_history.py HISTORY DUMP

HISTORY has one JSON object a line, one per write the workload made
(faultlib.py): key, value, kind ("set" or "cart"), observed (the sibling
values the client had read before writing), item (a cart write's new item),
status ("ack": the node answered OK; "maybe": an error, timeout or lost
connection, so it may or may not have been stored).
DUMP is {"keys": {key: {replica address: [context, [values...]] or null}}}:
DYN.LOCAL of every written key on each of its N replicas after convergence
(null: the replica did not answer).

Checks:
  1. replicas agree: for every key, every replica answered and all hold the
     same context and values;
  2. no acknowledged write is lost: a value is accounted for when it is in
     the key's final state, or when a write that is itself accounted for had
     observed it (that write is causally later and superseded it on
     purpose); every acknowledged write's value must be accounted for;
  3. no cart item is lost: every acknowledged cart write's item is in the
     union of the key's final siblings.
Prints its figures and each failure (at most EXAMPLES_MAX of a kind), then
exits 0 when nothing failed, 1 otherwise."""

import json
import sys

EXAMPLES_MAX = 10


def load_history(path):
    writes = []
    with open(path) as f:
        for line in f:
            if line.strip():
                writes.append(json.loads(line))
    return writes


def final_values(replicas):
    """The union of the replicas' values of one key."""
    out = set()
    for state in replicas.values():
        if state is not None:
            out.update(state[1])
    return out


def check_replicas(dump, report):
    for key, replicas in sorted(dump["keys"].items()):
        states = list(replicas.values())
        if not states:
            report("no replica known for key %s" % key)
        elif any(s is None for s in states):
            report("key %s: a replica did not answer: %s" % (key, replicas))
        elif any(s != states[0] for s in states):
            report("key %s: replicas differ: %s" % (key, json.dumps(replicas)))


def accounted_values(writes, final):
    """key -> the values accounted for (see the module comment)."""
    by_key = {}
    for w in writes:
        by_key.setdefault(w["key"], []).append(w)
    accounted = {}
    for key, ws in by_key.items():
        acc = set(final.get(key, ()))
        grew = True
        while grew:
            grew = False
            for w in ws:
                if w["value"] in acc:
                    for v in w["observed"]:
                        if v not in acc:
                            acc.add(v)
                            grew = True
        accounted[key] = acc
    return accounted


def main(argv):
    if len(argv) != 3:
        print("usage: check_history.py HISTORY DUMP", file=sys.stderr)
        return 2
    writes = load_history(argv[1])
    with open(argv[2]) as f:
        dump = json.load(f)
    failures = {}

    def reporter(kind):
        def report(msg):
            failures.setdefault(kind, []).append(msg)
        return report

    check_replicas(dump, reporter("diverged"))
    final = {k: final_values(r) for k, r in dump["keys"].items()}
    accounted = accounted_values(writes, final)
    acked = [w for w in writes if w["status"] == "ack"]
    found = superseded = 0
    for w in acked:
        if w["key"] not in dump["keys"]:
            reporter("lost")("acknowledged write of %s: the key is not in the dump" % w["key"])
        elif w["value"] in final[w["key"]]:
            found += 1
        elif w["value"] in accounted[w["key"]]:
            superseded += 1
        else:
            reporter("lost")("acknowledged %s write lost: %s = %.60s (final: %d values)" %
                             (w["kind"], w["key"], w["value"], len(final[w["key"]])))
    items_acked = items_found = 0
    for w in acked:
        if w["kind"] != "cart":
            continue
        items_acked += 1
        finals = final.get(w["key"], set())
        if any(w["item"] in v.split(",") for v in finals):
            items_found += 1
        else:
            reporter("cart")("acknowledged cart item %s of %s lost" % (w["item"], w["key"]))
    sibling_keys = sum(1 for v in final.values() if len(v) > 1)
    siblings = sum(len(v) for v in final.values() if len(v) > 1)
    print("writes %d: acknowledged %d, maybe %d; acknowledged found %d, superseded by a "
          "later write %d; cart items acknowledged %d, found %d; keys %d, with siblings %d "
          "(%d siblings)" % (len(writes), len(acked), len(writes) - len(acked), found,
                             superseded, items_acked, items_found, len(dump["keys"]),
                             sibling_keys, siblings))
    for kind, msgs in sorted(failures.items()):
        print("%s: %d" % (kind, len(msgs)))
        for m in msgs[:EXAMPLES_MAX]:
            print("  %s" % m)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
