#!/usr/bin/python3
"""test_check_history.py - checks the fault tests' checker itself
(check_history.py) on small made-up histories and replica dumps: it must
pass a correct run and fail each kind of loss or divergence it is meant to
catch. Needs no network and no server."""

import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CHECKER = os.path.join(HERE, "check_history.py")


def write(kind, key, value, status="ack", observed=(), item=None):
    rec = {"kind": kind, "key": key, "value": value, "observed": list(observed),
           "status": status, "client": 0}
    if item is not None:
        rec["item"] = item
    return rec


def replicas(values, context="ctx", count=3, override=None):
    reps = {"10.0.0.%d" % i: [context, sorted(values)] for i in range(count)}
    reps.update(override or {})
    return reps


def checker_passes(history, keys):
    with tempfile.TemporaryDirectory() as d:
        hpath, dpath = os.path.join(d, "h.jsonl"), os.path.join(d, "d.json")
        with open(hpath, "w") as f:
            for rec in history:
                f.write(json.dumps(rec) + "\n")
        with open(dpath, "w") as f:
            json.dump({"keys": keys}, f)
        res = subprocess.run([sys.executable, CHECKER, hpath, dpath],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        return res.returncode == 0


CART_OK = [
    write("cart", "c", "a", item="a"),
    write("cart", "c", "a,b", observed=["a"], item="b"),
    write("cart", "c", "c", item="c"),  # a concurrent blind add: a sibling
    write("cart", "c", "a,b,d", status="maybe", observed=["a,b"], item="d"),
    write("set", "w1", "v1"),
    write("set", "w2", "v2", status="maybe"),
]
CASES = [
    ("a correct run passes", True, CART_OK,
     {"c": replicas(["a,b,d", "c"]), "w1": replicas(["v1"]), "w2": replicas([])}),
    ("a lost SET fails", False, CART_OK,
     {"c": replicas(["a,b,d", "c"]), "w1": replicas([]), "w2": replicas([])}),
    ("a lost cart sibling fails", False, CART_OK,
     {"c": replicas(["a,b,d"]), "w1": replicas(["v1"]), "w2": replicas([])}),
    ("a superseded write not observed by its successor fails", False,
     [write("cart", "c", "a", item="a"), write("cart", "c", "b", item="b")],
     {"c": replicas(["b"])}),
    ("a cart item dropped by a merge fails", False,
     [write("cart", "c", "a", item="a"), write("cart", "c", "a,b", observed=["a"], item="b"),
      write("cart", "c", "x", status="maybe", observed=["a,b"], item="x")],
     {"c": replicas(["x"])}),
    ("replicas with different values fail", False, [write("set", "w1", "v1")],
     {"w1": replicas(["v1"], override={"10.0.0.2": ["ctx", []]})}),
    ("replicas with different contexts fail", False, [write("set", "w1", "v1")],
     {"w1": replicas(["v1"], override={"10.0.0.1": ["other", ["v1"]]})}),
    ("a replica that did not answer fails", False, [write("set", "w1", "v1")],
     {"w1": replicas(["v1"], override={"10.0.0.1": None})}),
    ("a key missing from the dump fails", False, [write("set", "w1", "v1")], {}),
    ("an unacknowledged write may be lost", True,
     [write("set", "w1", "v1", status="maybe")], {"w1": replicas([])}),
]


def main():
    passed = failed = 0
    for name, want, history, keys in CASES:
        if checker_passes(history, keys) == want:
            passed += 1
            print("ok: %s" % name)
        else:
            failed += 1
            print("FAIL: %s" % name)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
