#!/usr/bin/python3
"""python_redis.py - Debian's python3-redis (redis-py) against dynis-server:
set/get/mget/mset/expire/ttl/delete/scan_iter, pipelines, binary values and
the connection commands the library sends on its own.

    python_redis.py [--self]    (--self: run against a real redis-server)

Must run under /usr/bin/python3 (the interpreter Debian's package serves).
Exits 77 when redis-py or redis-server is missing."""

import os
import sys

sys.dont_write_bytecode = True  # the source tree may be read-only
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

KEYS_MAX = 500


def run(r, t):
    t.check(r.ping() is True, "ping")
    t.check(r.set("greeting", "hello") is True, "set")
    t.check(r.get("greeting") == b"hello", "get")
    t.check(r.get("nokey") is None, "get missing")
    t.check(r.set("greeting", "x", nx=True) is None, "set nx on existing")
    t.check(r.set("fresh", "x", xx=True) is None, "set xx on missing")
    t.check(r.set("greeting", "hi", get=True) == b"hello", "set get")
    t.check(r.mset({"a": "1", "b": "2", "c": "3"}) is True, "mset")
    t.check(r.mget("a", "b", "nokey", "c") == [b"1", b"2", None, b"3"], "mget")
    t.check(r.exists("a", "b", "nokey") == 2, "exists")
    t.check(r.expire("a", 100) is True, "expire")
    t.check(r.ttl("a") == 100, "ttl")
    t.check(90000 < r.pttl("a") <= 100000, "pttl")
    t.check(r.ttl("b") == -1 and r.ttl("nokey") == -2, "ttl without expiry / missing")
    t.check(r.persist("a") is True and r.ttl("a") == -1, "persist")
    t.check(r.pexpire("b", 100000) is True and r.ttl("b") == 100, "pexpire")
    t.check(r.set("e", "v", ex=100) is True and r.ttl("e") == 100, "set ex")
    t.check(r.set("p", "v", px=100000) is True and r.ttl("p") == 100, "set px")
    t.check(r.getex("e", persist=True) == b"v" and r.ttl("e") == -1, "getex persist")
    t.check(r.getdel("e") == b"v" and r.get("e") is None, "getdel")
    t.check(r.append("c", "45") == 3 and r.get("c") == b"345", "append")
    t.check(r.strlen("c") == 3, "strlen")
    t.check(r.type("c") == b"string" and r.type("nokey") == b"none", "type")
    t.check(r.delete("a", "b", "nokey") == 2, "delete")
    t.check(sorted(r.keys("*")) == [b"c", b"greeting", b"p"], "keys")
    t.check(r.dbsize() == 3, "dbsize")


def run_binary(r, t):
    value = b"\x00\x01\xff\r\n" * 1000
    t.check(r.set(b"bin\x00key", value) is True, "set binary")
    t.check(r.get(b"bin\x00key") == value, "binary round trip")
    t.check(r.set("empty", "") is True and r.get("empty") == b"", "empty value")
    big = os.urandom(1024 * 1024)
    t.check(r.set("big", big) is True and r.get("big") == big, "1 MiB value")


def run_scan_and_pipeline(r, t):
    t.check(r.flushall() is True and r.dbsize() == 0, "flushall")
    pipe = r.pipeline(transaction=False)
    for i in range(KEYS_MAX):
        pipe.set("k:%d" % i, i)
    t.check(pipe.execute() == [True] * KEYS_MAX, "pipeline of sets")
    keys = set(r.scan_iter(match="k:*", count=50))
    t.check(len(keys) == KEYS_MAX, "scan_iter finds every key", "found %d" % len(keys))
    t.check(set(r.scan_iter(match="k:1?", count=7)) == {b"k:%d" % i for i in range(10, 20)},
            "scan_iter with a pattern")
    pipe = r.pipeline(transaction=False)
    pipe.get("k:7").mget("k:1", "k:2").expire("k:3", 50).ttl("k:3").delete("k:4").exists("k:4")
    t.check(pipe.execute() == [b"7", [b"1", b"2"], True, 50, 1, 0], "mixed pipeline")


def run_connection(r, t):
    t.check(r.echo("hi") == b"hi", "echo")
    t.check(r.client_setname("tester") is True, "client setname")
    t.check(r.client_getname() == "tester", "client getname")
    t.check(isinstance(r.client_id(), int), "client id")
    secs, usecs = r.time()
    t.check(secs > 1600000000 and 0 <= usecs < 1000000, "time")
    info = r.info()
    for field in ("used_memory", "connected_clients", "total_commands_processed"):
        t.check(field in info, "info has " + field)
    t.check(r.config_get("proto-max-bulk-len") ==
            {"proto-max-bulk-len": str(harness.PROTO_MAX_BULK_LEN)}, "config get")
    t.check(isinstance(r.command_count(), int), "command count")
    try:
        r.execute_command("NOSUCHCOMMAND")
        t.check(False, "unknown command raises")
    except redis.ResponseError as e:
        t.check(str(e).startswith("unknown command"), "unknown command raises", str(e))
    d = redis.Redis(port=r.connection_pool.connection_kwargs["port"], decode_responses=True)
    t.check(d.set("s", "é") is True and d.get("s") == "é", "decode_responses")
    d.close()


def main():
    global redis
    if {"-h", "--help"} & set(sys.argv[1:]):
        print(__doc__)
        return 0
    self_mode = "--self" in sys.argv[1:]
    try:
        import redis
    except ImportError:
        print("python3-redis is not installed: skipping\n0 passed, 0 failed")
        return harness.SKIP
    redis_bin = harness.redis_server_path()
    binary = redis_bin if self_mode else harness.dynis_server_path()
    if not redis_bin and self_mode:
        print("redis-server is not installed: skipping\n0 passed, 0 failed")
        return harness.SKIP
    if not binary:
        print("dynis-server not found (set DYNIS_SERVER)\n0 passed, 1 failed")
        return 1
    t = harness.Tally()
    server = harness.Server("redis" if self_mode else "dynis", binary)
    try:
        server.start()
        r = redis.Redis(host="127.0.0.1", port=server.port, socket_timeout=10)
        for part in (run, run_binary, run_scan_and_pipeline, run_connection):
            try:
                part(r, t)
            except (redis.RedisError, OSError) as e:
                t.check(False, part.__name__, "%s: %s" % (type(e).__name__, e))
        r.close()
    except RuntimeError as e:
        t.check(False, "start", str(e))
    finally:
        server.stop()
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
