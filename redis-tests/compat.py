#!/usr/bin/python3
"""compat.py - the differential compatibility test: sends the same command
sequences (redis-tests/cases.txt) to a real redis-server and to dynis-server
and compares the replies byte for byte. Every differing case is reported with
both replies; the cases where dynis differs on purpose are listed, with the
reason, in redis-tests/exceptions.txt.

    compat.py [--self] [--case NAME]... [--cases FILE] [--verbose]

--self compares redis-server with a second redis-server (checks the harness
and the case file themselves; exceptions that name a dynis reply are not
used). The case file's syntax is described at its top. Exits 0 when every
case matches, 1 otherwise, 77 when redis-server is missing; the last line is
"N passed, M failed"."""

import argparse
import os
import sys
import time

sys.dont_write_bytecode = True  # the source tree may be read-only
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SCAN_ROUNDS_MAX = 10000
SLEEP_MS_MAX = 5000
SHOW_BYTES_MAX = 300
CLOSE_WAIT_S = 2.0
APPROX_TOLERANCE = 0.02  # TTLs read on two servers a moment apart


# ---------------------------------------------------------------- parsing

class CaseError(Exception):
    pass


ESCAPES = {"n": b"\n", "r": b"\r", "t": b"\t", "0": b"\0", "\\": b"\\", '"': b'"'}


def tokenize(line):
    """Splits a step into tokens: bare words and double-quoted strings with
    \\r \\n \\t \\0 \\\\ \\" \\xHH escapes. Returns a list of (quoted, bytes)."""
    tokens, i, n = [], 0, len(line)
    while i < n:
        if line[i].isspace():
            i += 1
            continue
        if line[i] != '"':
            j = i
            while j < n and not line[j].isspace():
                j += 1
            tokens.append((False, line[i:j].encode()))
            i = j
            continue
        out, i = bytearray(), i + 1
        while True:
            if i >= n:
                raise CaseError("unterminated quote in: " + line)
            c = line[i]
            if c == '"':
                i += 1
                break
            if c == "\\":
                e = line[i + 1:i + 2]
                if e == "x":
                    out += bytes([int(line[i + 2:i + 4], 16)])
                    i += 4
                    continue
                if e not in ESCAPES:
                    raise CaseError("bad escape in: " + line)
                out += ESCAPES[e]
                i += 2
                continue
            out += c.encode()
            i += 1
        tokens.append((True, bytes(out)))
    return tokens


def expand(token):
    """Bare words of the form @rep(N,text), @now(+S), @nowms(+MS) are
    generated at send time (text may hold the escapes of quoted strings);
    everything else is literal."""
    quoted, word = token
    if quoted or not word.startswith(b"@"):
        return word
    name, _, rest = word[1:].partition(b"(")
    arg = rest.rstrip(b")")
    if name == b"rep":
        count, _, text = arg.partition(b",")
        return tokenize('"%s"' % text.decode())[0][1] * int(count)
    if name == b"now":
        return str(int(time.time()) + int(arg or b"0")).encode()
    if name == b"nowms":
        return str(int(time.time() * 1000) + int(arg or b"0")).encode()
    raise CaseError("unknown generator " + word.decode())


MODES = ("exact", "sort", "shape", "approx", "scan", "raw", "alive", "closed",
         "reconnect", "sleep", "any", "hello", "fields")
# HELLO fields that name the server, not the protocol: not compared.
HELLO_OWN_FIELDS = (b"server", b"version", b"id", b"mode")


class Step:
    def __init__(self, text):
        self.text = text
        head, sep, rest = text.partition(": ")
        if sep and head in MODES:
            self.mode, body = head, rest
        elif text in ("alive", "closed", "reconnect"):
            self.mode, body = text, ""
        else:
            self.mode, body = "exact", text
        self.tokens = tokenize(body)
        if self.mode not in ("alive", "closed", "reconnect") and not self.tokens:
            raise CaseError("empty step: " + text)


def load_cases(path):
    """Returns [(name, [Step])] in file order."""
    cases, current, names = [], None, set()
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            try:
                if line.startswith("=== "):
                    name = line[4:].strip()
                    if name in names:
                        raise CaseError("duplicate case " + name)
                    names.add(name)
                    current = (name, [])
                    cases.append(current)
                elif current is None:
                    raise CaseError("step before the first case")
                else:
                    current[1].append(Step(line.strip()))
            except CaseError as e:
                sys.exit("%s:%d: %s" % (path, lineno, e))
    return cases


def load_exceptions(path):
    """Returns {(case, step): expected bytes or None (= not compared)}."""
    table = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            try:
                toks = tokenize(line)
                if len(toks) < 4:
                    raise CaseError("need: case step expected reason")
                case, step, expected = toks[0][1].decode(), int(toks[1][1]), toks[2]
                table[(case, step)] = None if expected == (False, b"*") else expected[1]
            except (CaseError, ValueError) as e:
                sys.exit("%s:%d: %s" % (path, lineno, e))
    return table


# ---------------------------------------------------------------- running

def shape(value):
    """A reply reduced to its types: what COMMAND COUNT or TIME must look like."""
    if isinstance(value, list):
        return "[" + " ".join(shape(v) for v in value) + "]"
    if isinstance(value, tuple):
        return "error"
    if value is None:
        return "nil"
    return "int" if isinstance(value, int) else "str"


def hello_fields(reply):
    """HELLO's reply with the values of HELLO_OWN_FIELDS blanked: the type
    (map or array) and every protocol field still compare."""
    value = harness.parse(reply)
    if not isinstance(value, list) or len(value) % 2:
        return reply
    out = [reply[:1]]
    for k, v in zip(value[0::2], value[1::2]):
        out.append(b"%s=%s" % (k, b"*" if k in HELLO_OWN_FIELDS else repr(v).encode()))
    return b" ".join(out)


def run_scan(conn, args):
    """A full SCAN iteration from cursor args[1]: the sorted set of keys."""
    keys, cursor = set(), b"0"
    for _ in range(SCAN_ROUNDS_MAX):
        args = [args[0], cursor] + args[2:]
        reply = conn.command(*args)
        value = harness.parse(reply)
        if not isinstance(value, list) or len(value) != 2:
            return reply
        cursor = value[0]
        keys.update(value[1])
        if cursor == b"0":
            return b"keys: " + b" ".join(sorted(keys))
    return b"SCAN did not finish"


def run_raw(conn, tokens):
    """raw: "BYTES" [N]: sends the bytes as they are, reads N replies (1)."""
    data = expand(tokens[0])
    count = int(tokens[1][1]) if len(tokens) > 1 else 1
    conn.send(data)
    out = b""
    try:
        for _ in range(count):
            out += conn.read_reply()
    except harness.Closed:
        out += b"<closed>"
    return out


def run_step(state, step):
    conn, mode = state["conn"], step.mode
    if mode == "reconnect":
        conn.close()
        state["conn"] = harness.Conn(state["port"])
        return b""
    if mode == "sleep":
        time.sleep(min(int(step.tokens[0][1]), SLEEP_MS_MAX) / 1000.0)
        return b""
    if mode == "closed":
        return b"closed" if conn.read_until_closed(CLOSE_WAIT_S) else b"open"
    if mode == "alive":
        try:
            return conn.command(b"PING")
        except (harness.Closed, OSError):
            return b"<closed>"
    if mode == "raw":
        return run_raw(conn, step.tokens)
    args = [expand(t) for t in step.tokens]
    if mode == "scan":
        return run_scan(conn, args)
    reply = conn.command(*args)
    if mode == "sort":
        value = harness.parse(reply)
        if isinstance(value, list):
            return b"sorted: " + b" ".join(repr(v).encode() for v in sorted(value, key=repr))
    elif mode == "shape":
        return shape(harness.parse(reply)).encode()
    elif mode == "fields":
        value = harness.parse(reply)
        if isinstance(value, bytes) and value:
            return b" ".join(w.split(b"=")[0] for w in value.splitlines()[0].split())
    elif mode == "hello":
        return hello_fields(reply)
    elif mode == "any":
        return b"error" if reply.startswith(b"-") else b"reply"
    elif mode == "approx":
        value = harness.parse(reply)
        if isinstance(value, int) and value > 0:
            return b"~%d" % value
    return reply


def same(r, g):
    """Equal bytes, or two approx: integers within APPROX_TOLERANCE."""
    if r == g:
        return True
    if not (r.startswith(b"~") and g.startswith(b"~")):
        return False
    a, b = int(r[1:]), int(g[1:])
    return abs(a - b) <= max(1, APPROX_TOLERANCE * max(a, b))


def run_case(server, admin, steps):
    """Runs one case on a fresh connection; returns the list of step results
    (bytes), ending with b"<closed>" when the server closed it early."""
    saved = save_config(admin, steps)
    results = []
    state = {"port": server.port, "conn": harness.Conn(server.port)}
    try:
        for step in steps:
            try:
                results.append(run_step(state, step))
            except (harness.Closed, ConnectionError):
                results.append(b"<closed>")
                break
            except OSError as e:
                results.append(("<error %s>" % e).encode())
                break
    finally:
        state["conn"].close()
        restore_config(admin, saved)
    return results


def config_names(steps):
    names = []
    for s in steps:
        words = [t[1].lower() for t in s.tokens]
        if len(words) >= 3 and words[0] == b"config" and words[1] == b"set":
            names.append(s.tokens[2][1])
    return names


def save_config(admin, steps):
    """The current values of the parameters a case changes with CONFIG SET."""
    saved = []
    for name in config_names(steps):
        value = harness.parse(admin.command(b"CONFIG", b"GET", name))
        if isinstance(value, list) and len(value) == 2:
            saved.append((name, value[1]))
    return saved


def restore_config(admin, saved):
    for name, value in saved:
        reply = admin.command(b"CONFIG", b"SET", name, value)
        if reply.startswith(b"-NOAUTH") and name == b"requirepass":
            admin.command(b"AUTH", value)


def show(b):
    if b is None:
        return "(not compared)"
    s = repr(b[:SHOW_BYTES_MAX])
    return s + (" ... (%d bytes)" % len(b) if len(b) > SHOW_BYTES_MAX else "")


def compare(name, steps, ref, got, exceptions, self_mode):
    """Returns the list of differences of one case, as printable lines."""
    diffs = []
    for i in range(max(len(ref), len(got))):
        r = ref[i] if i < len(ref) else b"<no step: connection closed>"
        g = got[i] if i < len(got) else b"<no step: connection closed>"
        key, label = (name, i + 1), "redis"
        if key in exceptions:
            expected = exceptions[key]
            if expected is None or self_mode:
                continue
            r, label = expected, "want (exceptions.txt)"
        if not same(r, g):
            cmd = steps[i].text if i < len(steps) else "?"
            diffs.append("  step %d: %s\n    %s: %s\n    dynis: %s" % (
                i + 1, cmd[:SHOW_BYTES_MAX], label, show(r), show(g)))
    return diffs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--self", action="store_true", help="compare redis-server with itself")
    ap.add_argument("--case", action="append", default=[], help="run only this case")
    ap.add_argument("--cases", default=os.path.join(HERE, "cases.txt"))
    ap.add_argument("--exceptions", default=os.path.join(HERE, "exceptions.txt"))
    ap.add_argument("--verbose", action="store_true", help="print every case")
    opts = ap.parse_args()

    redis_bin = harness.redis_server_path()
    if not redis_bin:
        print("redis-server is not installed: skipping\n0 passed, 0 failed")
        return harness.SKIP
    dynis_bin = redis_bin if opts.self else harness.dynis_server_path()
    if not dynis_bin:
        print("dynis-server not found (set DYNIS_SERVER)\n0 passed, 1 failed")
        return 1
    cases = load_cases(opts.cases)
    if opts.case:
        cases = [c for c in cases if c[0] in opts.case]
    exceptions = load_exceptions(opts.exceptions)
    steps = {(name, i + 1) for name, case in load_cases(opts.cases) for i in range(len(case))}
    stale = sorted("%s step %d" % key for key in exceptions if key not in steps)
    if stale:
        print("exceptions.txt names steps that do not exist: " + ", ".join(stale))
        print("0 passed, 1 failed")
        return 1
    return run_all(cases, exceptions, redis_bin, dynis_bin, opts)


def run_all(cases, exceptions, redis_bin, dynis_bin, opts):
    tally = harness.Tally()
    ref = harness.Server("redis", redis_bin)
    dut = harness.Server("redis" if opts.self else "dynis", dynis_bin)
    try:
        ref.start()
        dut.start()
        ref_admin, dut_admin = harness.Conn(ref.port), harness.Conn(dut.port)
        for name, steps in cases:
            results = []
            for server, admin in ((ref, ref_admin), (dut, dut_admin)):
                admin.command(b"FLUSHALL")
                results.append(run_case(server, admin, steps))
            diffs = compare(name, steps, results[0], results[1], exceptions, opts.self)
            if opts.verbose:
                print("%s %s" % ("ok  " if not diffs else "DIFF", name))
            tally.check(not diffs, name, "\n".join(diffs))
            if not dut.alive():
                tally.check(False, "dynis-server died after case " + name, dut.log_tail())
                break
    except (OSError, RuntimeError, harness.Closed) as e:
        tally.check(False, "harness", "%s: %s\n%s" % (type(e).__name__, e, dut.log_tail()))
    finally:
        ref.stop()
        dut.stop()
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
