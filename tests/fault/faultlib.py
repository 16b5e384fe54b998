"""faultlib.py - what the fault scenarios (tests/fault/fault_*.py) share: a
private network of real dynis-server processes, a client workload that
records every write it made, and the convergence wait.

The network: one bridge dynbr<R> in the root namespace holding 10.213.<R>.1/24
(so the workload, which runs in the root namespace, reaches every node), and
per node a namespace dyn<R>n<i> joined to the bridge by a veth pair
(dyn<R>v<i> on the bridge, eth0 inside) with address 10.213.<R>.<10+i>. Every
node listens on port 6379 and bus port 16379 of its own address. R, the run
slot, is the first of 1..RUN_SLOTS_MAX whose lock file /run/dynis-fault/<R>.lock
this process can flock: runs in parallel (make -j) use different slots, and a
slot left behind by a crashed run is cleaned up by name before it is reused.
Everything is removed on exit (atexit and SIGTERM/SIGINT).

Faults: cut a node off (its bridge-side veth down), partition (blackhole
routes inside each namespace for the other side's addresses; the root
namespace still reaches both sides), kill -9, restart, wipe a data directory,
CLUSTER MEET and CLUSTER LEAVE.

The workload: client threads, each through one node (it reconnects after a
connection error; a scenario moves it to another node with Workload.move),
mixing
  - plain SETs of write-once keys (w:<client>:<seq> = v:<client>:<seq>): each
    acknowledged one must be found with its value on its N replicas;
  - add-to-cart: DYN.GET a cart key, union the items of its siblings, add a
    new item, DYN.PUT with the context read (a blind DYN.PUT with context ""
    and just the new item when the read fails: always writable).
Every write goes to the history file (one JSON object a line): key, value,
kind, the sibling values the client had read, and "ack" (the node said OK)
or "maybe" (an error, a timeout or a lost connection: it may or may not have
been stored). check_history.py reads it with a dump of every replica's
DYN.LOCAL state.

Uses Debian's python3-redis (run with /usr/bin/python3). Needs root and
network namespaces: without them the scenario exits 77 (skipped)."""

import atexit
import fcntl
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time

import redis
from redis.crc import key_slot

RUN_SLOTS_MAX = 250
LOCK_DIR = "/run/dynis-fault"
PORT = 6379
BUS_PORT = 16379
NODES_MAX = 9
READY_SECONDS_MAX = 20.0       # a started node answers PING within this
AGREE_SECONDS_MAX = 60.0       # nodes agree on the ring within this
CONVERGE_SECONDS_MAX = 150.0   # replicas agree after a heal within this
POLL_SECONDS = 0.5
CLIENT_TIMEOUT_SECONDS = 8.0   # longer than a request's timeout plus a forward's
CONNECT_TIMEOUT_SECONDS = 1.0
CLIENT_PAUSE_SECONDS = 0.01    # between two operations of one client
# Short timings so that failures are detected and repaired in seconds.
SERVER_OPTIONS = ["--node-timeout", "1000", "--gossip-interval", "200",
                  "--anti-entropy-interval", "1000", "--appendfsync", "everysec",
                  "--loglevel", "notice"]


def log(msg):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def run(*cmd, check=True):
    """Runs an ip(8) command (or another), raising on failure when check."""
    res = subprocess.run(list(cmd), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if check and res.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(cmd), res.stderr.strip()))
    return res


def skip(reason):
    print("SKIP: fault tests need root and network namespaces: %s" % reason)
    print("0 passed, 0 failed")
    sys.exit(77)


# ---------------------------------------------------------------- the network

class Net:
    """The bridge and one namespace per node, for run slot self.run."""

    def __init__(self):
        if os.geteuid() != 0:
            skip("not running as root")
        if shutil.which("ip") is None:
            skip("no ip(8) (iproute2)")
        os.makedirs(LOCK_DIR, exist_ok=True)
        self.lock, self.run = self._take_slot()
        self.bridge = "dynbr%d" % self.run
        self.count = 0
        self._cleanup_slot()
        probe = "dyn%dprobe" % self.run
        res = run("ip", "netns", "add", probe, check=False)
        if res.returncode != 0:
            skip("ip netns add failed: %s" % res.stderr.strip())
        run("ip", "netns", "del", probe, check=False)
        run("ip", "link", "add", self.bridge, "type", "bridge")
        run("ip", "addr", "add", "10.213.%d.1/24" % self.run, "dev", self.bridge)
        run("ip", "link", "set", self.bridge, "up")

    def _take_slot(self):
        for r in range(1, RUN_SLOTS_MAX + 1):
            f = open(os.path.join(LOCK_DIR, "%d.lock" % r), "w")
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return f, r
            except OSError:
                f.close()
        raise RuntimeError("no free run slot under %s" % LOCK_DIR)

    def ns(self, i):
        return "dyn%dn%d" % (self.run, i)

    def veth(self, i):
        return "dyn%dv%d" % (self.run, i)

    def ip(self, i):
        return "10.213.%d.%d" % (self.run, 10 + i)

    def _cleanup_slot(self):
        """Removes what a crashed run of this slot left: its namespaces (and
        any process still in them), its veths and its bridge."""
        prefix = "dyn%dn" % self.run
        names = run("ip", "netns", "list", check=False).stdout.split("\n")
        for line in names:
            name = line.split(" ")[0]
            if name.startswith(prefix) or name == "dyn%dprobe" % self.run:
                pids = run("ip", "netns", "pids", name, check=False).stdout.split()
                for pid in pids:
                    try:
                        os.kill(int(pid), signal.SIGKILL)
                    except OSError:
                        pass
                run("ip", "netns", "del", name, check=False)
        for i in range(NODES_MAX):
            run("ip", "link", "del", self.veth(i), check=False)
        run("ip", "link", "del", "dynbr%d" % self.run, check=False)

    def add_node(self):
        """Creates the next namespace; returns its index."""
        i = self.count
        self.count += 1
        ns, veth, peer = self.ns(i), self.veth(i), "dyn%dp%d" % (self.run, i)
        run("ip", "netns", "add", ns)
        run("ip", "link", "add", veth, "type", "veth", "peer", "name", peer)
        run("ip", "link", "set", peer, "netns", ns)
        run("ip", "link", "set", veth, "master", self.bridge, "up")
        run("ip", "-n", ns, "link", "set", peer, "name", "eth0")
        run("ip", "-n", ns, "addr", "add", self.ip(i) + "/24", "dev", "eth0")
        run("ip", "-n", ns, "link", "set", "eth0", "up")
        run("ip", "-n", ns, "link", "set", "lo", "up")
        return i

    def cut(self, i):
        run("ip", "link", "set", self.veth(i), "down")

    def heal_cut(self, i):
        run("ip", "link", "set", self.veth(i), "up")

    def partition(self, side_a, side_b):
        for a in side_a:
            for b in side_b:
                run("ip", "-n", self.ns(a), "route", "add", "blackhole", self.ip(b) + "/32")
                run("ip", "-n", self.ns(b), "route", "add", "blackhole", self.ip(a) + "/32")

    def heal_partition(self, side_a, side_b):
        for a in side_a:
            for b in side_b:
                run("ip", "-n", self.ns(a), "route", "del", "blackhole", self.ip(b) + "/32",
                    check=False)
                run("ip", "-n", self.ns(b), "route", "del", "blackhole", self.ip(a) + "/32",
                    check=False)

    def close(self):
        self._cleanup_slot()
        self.lock.close()


# ---------------------------------------------------------------- the nodes

class Node:
    def __init__(self, net, workdir, i):
        self.net, self.i = net, i
        self.ip = net.ip(i)
        self.dir = os.path.join(workdir, "node%d" % i)
        self.data = os.path.join(self.dir, "data")
        self.logfile = os.path.join(self.dir, "dynis.log")
        self.node_id = "".join(random.choice("0123456789abcdef") for _ in range(40))
        self.proc = None
        os.makedirs(self.data, exist_ok=True)

    def start(self):
        server = os.environ.get("DYNIS_SERVER")
        out = open(self.logfile, "a")
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", self.net.ns(self.i), server, "--port", str(PORT),
             "--bus-port", str(BUS_PORT), "--bind", self.ip, "--dir", self.data,
             "--node-id", self.node_id] + SERVER_OPTIONS,
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        out.close()
        deadline = time.monotonic() + READY_SECONDS_MAX
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                if self.client().ping():
                    return
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError("node %d (%s) did not come up; see %s" % (self.i, self.ip,
                                                                     self.logfile))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc = None

    def stop(self):
        if not self.alive():
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self.proc = None

    def wipe(self):
        shutil.rmtree(self.data)
        os.makedirs(self.data)

    def client(self, timeout=CLIENT_TIMEOUT_SECONDS):
        return redis.Redis(host=self.ip, port=PORT, socket_timeout=timeout,
                           socket_connect_timeout=CONNECT_TIMEOUT_SECONDS)

    def info(self):
        """INFO dynamo as a dict (values as strings)."""
        text = self.client().execute_command("INFO", "dynamo")
        if isinstance(text, bytes):
            text = text.decode()
        if isinstance(text, dict):
            return {k: str(v) for k, v in text.items()}
        out = {}
        for line in text.splitlines():
            if ":" in line and not line.startswith("#"):
                k, v = line.split(":", 1)
                out[k] = v
        return out


class Cluster:
    """count nodes on the network, each started, then joined by CLUSTER MEET."""

    def __init__(self, count, name):
        self.name = name
        self.net = Net()
        self.workdir = os.path.join(os.environ.get("FAULT_TMPDIR", "/tmp"),
                                    "dynis-fault-%s-%d" % (name, os.getpid()))
        shutil.rmtree(self.workdir, ignore_errors=True)
        os.makedirs(self.workdir)
        self.nodes = []
        self.members = []  # the nodes in the ring (started, not left)
        self.workloads = []  # stopped before the network goes
        atexit.register(self.close)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: sys.exit(1))
        for _ in range(count):
            self.add_node(meet=False)
        for n in self.nodes[1:]:
            self.meet(self.nodes[0], n)
        self.wait_agree(self.nodes)
        log("%s: %d nodes formed a cluster (run slot %d, %s)" %
            (name, count, self.net.run, self.workdir))

    def add_node(self, meet=True):
        i = self.net.add_node()
        node = Node(self.net, self.workdir, i)
        self.nodes.append(node)
        self.members.append(node)
        node.start()
        if meet:
            self.meet(self.nodes[0], node)
        return node

    def meet(self, via, node):
        reply = via.client().execute_command("CLUSTER", "MEET", node.ip, PORT, BUS_PORT)
        if reply not in (b"OK", "OK", True):
            raise RuntimeError("CLUSTER MEET %s: %r" % (node.ip, reply))

    def live(self):
        return [n for n in self.nodes if n.alive()]

    def ring_view(self, node):
        c = node.client(timeout=2.0)
        info = c.execute_command("CLUSTER", "INFO")
        if isinstance(info, bytes):
            info = info.decode()
        fields = dict(l.split(":", 1) for l in info.split() if ":" in l)
        slots = c.execute_command("CLUSTER", "SLOTS")
        return fields.get("cluster_state"), fields.get("cluster_known_nodes"), repr(slots)

    def disagreement(self, nodes):
        """None when every node of nodes is ok, knows every member (a node
        whose leave is done is dropped from the views), and they
        all answer the same CLUSTER SLOTS naming the members of the ring
        (those running at least: CLUSTER SLOTS leaves failed nodes out);
        else what differs."""
        views = set()
        ring = {m.ip for m in self.members}
        running = {m.ip for m in self.members if m.alive()}
        try:
            for n in nodes:
                state, known, slots = self.ring_view(n)
                if state != "ok" or known != str(len(self.members)):
                    return "node %d: cluster_state %s, %s known nodes" % (n.i, state, known)
                owners = set()
                for ips in self.replica_map(n).values():
                    owners.update(ips)
                if not running <= owners <= ring:
                    return "node %d: the ring holds %s" % (n.i, sorted(owners))
                views.add(slots)
        except redis.RedisError as e:
            return "error: %s" % e
        return None if len(views) == 1 else "CLUSTER SLOTS differ between nodes"

    def agreed(self, nodes):
        return self.disagreement(nodes) is None

    def wait_agree(self, nodes, seconds=AGREE_SECONDS_MAX):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.agreed(nodes):
                return True
            time.sleep(POLL_SECONDS)
        raise RuntimeError("%d nodes did not agree on a ring of %d within %.0f s: %s" %
                           (len(nodes), len(self.members), seconds,
                            self.disagreement(nodes)))

    def replica_map(self, node):
        """slot -> [ip, ...] (preference list order) from node's CLUSTER SLOTS."""
        out = {}
        for entry in node.client().execute_command("CLUSTER", "SLOTS"):
            lo, hi = int(entry[0]), int(entry[1])
            ips = [e[0].decode() if isinstance(e[0], bytes) else e[0] for e in entry[2:]]
            for s in range(lo, hi + 1):
                out[s] = ips
        return out

    def sum_info(self, field, nodes=None):
        total = 0
        for n in nodes if nodes is not None else self.live():
            try:
                total += int(n.info().get(field, "0"))
            except redis.RedisError:
                pass
        return total

    def close(self):
        for wl in self.workloads:
            wl.stopping.set()
        for n in self.nodes:
            try:
                n.stop()
            except Exception:
                pass
        self.net.close()
        if os.environ.get("FAULT_KEEP") is None:
            shutil.rmtree(self.workdir, ignore_errors=True)


# ---------------------------------------------------------------- the workload

def cart_items(values):
    """The union of the items of cart values (bytes, comma-separated)."""
    items = set()
    for v in values:
        s = v.decode() if isinstance(v, bytes) else v
        items.update(x for x in s.split(",") if x)
    return items


class Workload:
    """Client threads, one per node of via (reconnecting after errors),
    appending every write to history_path until stop()."""

    def __init__(self, cluster, via, history_path, carts=8, cart_share=0.5, seed=1):
        self.cluster = cluster
        self.via = list(via)
        self.carts = carts
        self.cart_share = cart_share
        self.history = open(history_path, "a")
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.acked = 0
        self.maybe = 0
        self.threads = []
        cluster.workloads.append(self)
        for t in range(len(self.via)):
            th = threading.Thread(target=self._client, args=(t, seed * 1000 + t),
                                  daemon=True)
            self.threads.append(th)
        for th in self.threads:
            th.start()

    def record(self, rec):
        with self.lock:
            self.history.write(json.dumps(rec) + "\n")
            if rec["status"] == "ack":
                self.acked += 1
            else:
                self.maybe += 1

    def move(self, t, node):
        """Client t moves its writes to node from now on."""
        self.via[t] = node

    def _client(self, t, seed):
        rnd = random.Random(seed)
        seq = 0
        conn, conn_node = None, None
        while not self.stopping.is_set():
            node = self.via[t]
            if conn is None or conn_node is not node:
                conn, conn_node = node.client(), node
            seq += 1
            try:
                if rnd.random() < self.cart_share:
                    self._cart(conn, t, seq, rnd)
                else:
                    self._set(conn, t, seq)
            except redis.RedisError:
                conn = None
                time.sleep(0.1)
            time.sleep(CLIENT_PAUSE_SECONDS)

    def _send(self, conn, rec, *command):
        """Runs a write, records it as ack or maybe; a lost connection is
        recorded, then raised for the caller to reconnect."""
        try:
            ok = conn.execute_command(*command)
            rec["status"] = "ack" if ok in (b"OK", True, "OK") else "maybe"
        except redis.ResponseError as e:
            rec["status"], rec["error"] = "maybe", str(e)
        except redis.RedisError as e:
            rec["status"], rec["error"] = "maybe", str(e)
            self.record(rec)
            raise
        self.record(rec)

    def _set(self, conn, t, seq):
        key, value = "w:%d:%d" % (t, seq), "v:%d:%d" % (t, seq)
        rec = {"kind": "set", "key": key, "value": value, "observed": [], "client": t}
        self._send(conn, rec, "SET", key, value)

    def _cart(self, conn, t, seq, rnd):
        key = "cart:%d" % rnd.randrange(self.carts)
        item = "i%d.%d" % (t, seq)
        try:
            got = conn.execute_command("DYN.GET", key)
            ctx, observed = got[0], [v.decode() for v in got[1:]]
        except redis.ResponseError:
            ctx, observed = b"", []  # the read failed: a blind add (a sibling)
        items = cart_items(observed)
        items.add(item)
        value = ",".join(sorted(items))
        rec = {"kind": "cart", "key": key, "value": value, "item": item,
               "observed": observed, "client": t}
        self._send(conn, rec, "DYN.PUT", key, ctx, value)

    def stop(self):
        self.stopping.set()
        for th in self.threads:
            th.join(timeout=CLIENT_TIMEOUT_SECONDS * 3)
        self.history.close()
        log("workload: %d writes acknowledged, %d maybe" % (self.acked, self.maybe))


def append_history(history_path, rec):
    """Adds one write made outside a Workload (a resolution) to the history."""
    with open(history_path, "a") as f:
        f.write(json.dumps(rec) + "\n")


# ---------------------------------------------------------------- convergence

def history_keys(history_path):
    keys = set()
    with open(history_path) as f:
        for line in f:
            keys.add(json.loads(line)["key"])
    return sorted(keys)


def local_state(nodes, keys):
    """{key: {ip: [context, [values...]]}} from DYN.LOCAL on every node of
    nodes, for every key; a node that does not answer is left out."""
    state = {k: {} for k in keys}
    for n in nodes:
        try:
            pipe = n.client().pipeline(transaction=False)
            for k in keys:
                pipe.execute_command("DYN.LOCAL", k)
            replies = pipe.execute(raise_on_error=False)
        except redis.RedisError:
            continue
        for k, r in zip(keys, replies):
            if isinstance(r, Exception):
                continue
            state[k][n.ip] = [r[0].decode(), sorted(v.decode() for v in r[1:])]
    return state


def replica_state(cluster, nodes, keys, ref=None):
    """The dump check_history.py reads: for each key its replicas (by the
    ring of ref, default the first of nodes) among nodes, and their state.
    {"replicas": N, "keys": {key: {ip: [context, values]}}}"""
    ref = ref or nodes[0]
    rmap = cluster.replica_map(ref)
    by_ip = {n.ip: n for n in nodes}
    full = local_state(nodes, keys)
    out = {}
    for k in keys:
        owners = [ip for ip in rmap.get(key_slot(k.encode()), []) if ip in by_ip]
        out[k] = {ip: full[k][ip] for ip in owners if ip in full[k]}
        for ip in owners:
            if ip not in full[k]:
                out[k][ip] = None  # asked, did not answer
    return {"keys": out}


def differing(dump):
    """Keys whose replicas in dump disagree (or did not answer)."""
    bad = []
    for k, reps in dump["keys"].items():
        vals = list(reps.values())
        if any(v is None for v in vals) or any(v != vals[0] for v in vals):
            bad.append(k)
    return bad


def wait_converged(cluster, nodes, history_path, seconds=CONVERGE_SECONDS_MAX,
                   hints=True):
    """Polls (bounded) until nodes agree on the ring, every written key's
    replicas among nodes agree, and (when hints) no node of nodes holds a
    pending hint. Returns (converged, seconds, dump)."""
    keys = history_keys(history_path)
    start = time.monotonic()
    deadline = start + seconds
    dump, why = None, "not polled"
    while True:
        try:
            why = cluster.disagreement(nodes)
            if why is None:
                dump = replica_state(cluster, nodes, keys)
                bad = differing(dump)
                pending = cluster.sum_info("hints_pending", nodes) if hints else 0
                if not bad and pending == 0:
                    return True, time.monotonic() - start, dump
                why = "%d keys differ, %d hints pending" % (len(bad), pending)
        except redis.RedisError as e:
            why = "error: %s" % e
        if time.monotonic() >= deadline:
            log("not converged after %.0f s: %s" % (seconds, why))
            if dump is None:
                dump = replica_state(cluster, nodes, keys)
            return False, time.monotonic() - start, dump
        time.sleep(POLL_SECONDS)


# ---------------------------------------------------------------- results

class Results:
    """Named checks of one scenario; ends with the "N passed, M failed" line."""

    def __init__(self, name):
        self.name = name
        self.passed = 0
        self.failed = 0

    def check(self, ok, what):
        if ok:
            self.passed += 1
            print("ok: %s" % what, flush=True)
        else:
            self.failed += 1
            print("FAIL: %s" % what, flush=True)

    def run_checker(self, history_path, dump, label, dump_path):
        """Writes dump to dump_path and runs check_history.py on it."""
        with open(dump_path, "w") as f:
            json.dump(dump, f)
        here = os.path.dirname(os.path.abspath(__file__))
        res = subprocess.run([sys.executable, os.path.join(here, "check_history.py"),
                              history_path, dump_path], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
        for line in res.stdout.rstrip("\n").split("\n"):
            print("  checker: %s" % line, flush=True)
        self.check(res.returncode == 0, "%s: the checker finds nothing lost or diverging" % label)
        return res.stdout

    def finish(self):
        print("%s: %d passed, %d failed" % (self.name, self.passed, self.failed))
        print("%d passed, %d failed" % (self.passed, self.failed))
        sys.exit(0 if self.failed == 0 else 1)


def figures(cluster, label, wl, seconds, nodes=None):
    """Prints a scenario's figures from INFO dynamo of nodes."""
    nodes = nodes if nodes is not None else cluster.live()
    log("%s figures: writes acknowledged %d (maybe %d), hints stored %d delivered %d "
        "pending %d, anti-entropy keys exchanged %d, read repairs %d, converged in %.1f s "
        "(from the end of the fault or the load)" %
        (label, wl.acked, wl.maybe, cluster.sum_info("hints_stored", nodes),
         cluster.sum_info("hints_delivered", nodes), cluster.sum_info("hints_pending", nodes),
         cluster.sum_info("ae_keys_exchanged", nodes), cluster.sum_info("read_repairs", nodes),
         seconds))
