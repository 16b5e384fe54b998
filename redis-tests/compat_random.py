#!/usr/bin/python3
"""compat_random.py - the seeded random differential test: generates random
sequences of string and expiry commands over a small key set (GET SET with
random option combinations, valid and not, DEL EXISTS MGET MSET, EXPIRE
PEXPIRE EXPIREAT PEXPIREAT with NX XX GT LT, TTL PTTL PERSIST GETDEL GETEX
STRLEN APPEND TYPE DBSIZE; binary keys and values, empty strings, integers at
the edges), sends every command to a real redis-server and then to
dynis-server, and compares the replies byte for byte (TTL and PTTL within a
tolerance: the two servers are asked a moment apart). Each sequence ends with
DBSIZE and GET and PTTL of every key, so a difference in state shows too.

    compat_random.py [--self] [--seed S] [--seqs N] [--len L] [--plant]

Sequence i (0 <= i < N) uses seed S + i and L random commands (defaults:
S 1, N 50, L 60, what `make check` runs); a failure prints the seed, the
command line that replays it alone, the sequence up to the differing command
in the syntax of cases.txt, and both replies. --self compares redis-server
with a second redis-server; --plant (with --self) sets an extra key on the
second server only, so that every sequence must fail: compat_self.sh uses it
to prove that differences are reported.

Expiry times are deterministic: a relative expiry is either not positive
(the key goes at once) or at least EXPIRE_FAR_S seconds away, an absolute one
is in the past or as far in the future, and no two of them in one sequence
fall within EXPIRE_GAP_S / 2 seconds of each other (unless they are the same
absolute time), so NX XX GT LT and expiry never depend on which millisecond a
command arrives. SET never gets a valid EXAT/PXAT in the past: Redis 7.0
keeps such a key until its expiry cycle finds it, so DBSIZE would vary.

Exits 0 when every sequence matches, 1 otherwise, 77 when redis-server is
missing; the last line is "N passed, M failed"."""

import argparse
import os
import random
import sys
import time

sys.dont_write_bytecode = True  # the source tree may be read-only
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

SEED_DEFAULT = 1
SEQS_DEFAULT = 50
LEN_DEFAULT = 60
SEQS_MAX = 100000
LEN_MAX = 100000
SHOW_BYTES_MAX = 300
TTL_TOLERANCE_S = 1
PTTL_TOLERANCE_MS = 1000

KEYS = (b"a", b"b", b"{a}c", b"k\x00\r\n", b"")
PLANTED_KEY = b"planted-by-compat-random"
INT_EDGES = (b"9223372036854775807", b"-9223372036854775808", b"9223372036854775808",
             b"-9223372036854775809", b"9223372036854775", b"-9223372036854775",
             b"0", b"-1", b"-100")
# Too large as seconds, but a valid (far) relative expiry in milliseconds.
INT_MS_VALID = b"9223372036854775"
NOT_INTEGERS = (b"", b"abc", b"1.5", b" 100", b"100 ", b"+100", b"00100", b"1e3",
                b"0x10", b"100\x00")
VALUES = (b"", b"x", b"hello", b"\x00", b"a\r\nb", b"\r\n", b"\x00\xff\r\n\x00$-1\r\n",
          b"*1\r\n$4\r\nPING\r\n", b"12", b"-1", b"0", b"9223372036854775807",
          b"-9223372036854775808", b"9223372036854775808", b"3.14", "\u00e9t\u00e9".encode())
EXPIRE_FLAGS = (b"NX", b"XX", b"GT", b"LT")
SET_FLAGS = (b"NX", b"XX", b"GET", b"KEEPTTL")
SET_TIMED = (b"EX", b"PX", b"EXAT", b"PXAT")
BOGUS_WORDS = (b"junk", b"EXX", b"PERSISTS", b"")
# Far-future relative expiries are tier + EXPIRE_GAP_S * n (n counts them in
# the sequence); absolute ones are the sequence's start plus an offset that
# is EXPIRE_GAP_S / 2 off that grid, or well in the past.
EXPIRE_FAR_S = 1000
EXPIRE_GAP_S = 200
REL_TIERS_S = (EXPIRE_FAR_S, 100000, 10000000)
ABS_OFFSETS_S = (1100, 5100, 100100, 10000100, -1000, -100000)
ABS_PAST_LITERALS = (b"1", b"0", b"-5")
# Redis 7.0 stores a SET whose EXAT/PXAT is already past and lets it expire
# later (DBSIZE counts it until then): SET gets only the invalid ones.
SET_BAD_PAST = (b"0", b"-5")
RANDOM_VALUE_LEN_MAX = 40
LONG_VALUE_LEN = 4096
REP_LEN_MIN = 16  # a run of one byte this long is printed as @rep(N,c)


# ---------------------------------------------------------------- generating

class AbsTime:
    """An absolute Unix time, `offset` seconds (unit "s") or milliseconds
    (unit "ms") from the sequence's start; resolved once per command so that
    both servers get the same number."""

    def __init__(self, unit, offset):
        self.unit, self.offset = unit, offset

    def resolve(self, base_ms):
        return str((base_ms // 1000 if self.unit == "s" else base_ms) + self.offset).encode()

    def case_word(self):
        return "@%s(%+d)" % ("now" if self.unit == "s" else "nowms", self.offset)


class Gen:
    """Random commands (lists of bytes and AbsTime) from one seed."""

    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.far_count = 0

    def key(self):
        return self.rng.choice(KEYS)

    def keys(self):
        return [self.key() for _ in range(self.rng.randint(1, 4))]

    def word(self, w):
        """A command or option name in random letter case."""
        pick = self.rng.randrange(3)
        if pick == 0:
            return w.lower()
        if pick == 1:
            return w.upper()
        return bytes(c ^ 0x20 if chr(c).isalpha() and self.rng.random() < 0.5 else c for c in w)

    def value(self):
        pick = self.rng.randrange(10)
        if pick < 6:
            return self.rng.choice(VALUES)
        if pick < 9:
            n = self.rng.randint(0, RANDOM_VALUE_LEN_MAX)
            return bytes(self.rng.randrange(256) for _ in range(n))
        return bytes([self.rng.randrange(32, 127)]) * LONG_VALUE_LEN

    def bad_number(self, unit="s"):
        """An edge or invalid number; never a valid positive relative
        expiry in milliseconds (two of those could tie)."""
        edges = INT_EDGES if unit == "s" else [e for e in INT_EDGES if e != INT_MS_VALID]
        return self.rng.choice(tuple(edges) + NOT_INTEGERS)

    def relative(self, unit):
        """A relative expiry: far in the future (never seen before in this
        sequence), not positive, or not a valid number."""
        pick = self.rng.randrange(10)
        if pick < 6:
            self.far_count += 1
            secs = self.rng.choice(REL_TIERS_S) + EXPIRE_GAP_S * self.far_count
            if unit == "s":
                return str(secs).encode()
            return str(secs * 1000 + self.rng.randrange(1000)).encode()
        if pick < 8:
            return self.rng.choice((b"0", b"-1", b"-1000"))
        return self.bad_number(unit)

    def absolute(self, unit, past=True):
        """An absolute expiry: far in the future, in the past (unless not
        past), or edges."""
        pick = self.rng.randrange(10)
        if pick < 7:
            offsets = ABS_OFFSETS_S if past else [o for o in ABS_OFFSETS_S if o > 0]
            offset = self.rng.choice(offsets)
            return AbsTime(unit, offset if unit == "s" else offset * 1000)
        if pick < 8:
            return self.rng.choice(ABS_PAST_LITERALS if past else SET_BAD_PAST)
        return self.bad_number()

    def set_options(self):
        opts = []
        for _ in range(self.rng.choice((0, 0, 1, 1, 1, 2, 2, 3))):
            pick = self.rng.randrange(10)
            if pick < 4:
                opts.append(self.word(self.rng.choice(SET_FLAGS)))
            elif pick < 9:
                opt = self.rng.choice(SET_TIMED)
                opts.append(self.word(opt))
                if self.rng.random() < 0.95:
                    opts.append(self.expiry_arg(opt, True))
            else:
                opts.append(self.rng.choice(BOGUS_WORDS))
        return opts

    def expiry_arg(self, opt, setting):
        """The argument of SET's (setting) or GETEX's EX PX EXAT PXAT option."""
        unit = "s" if opt in (b"EX", b"EXAT") else "ms"
        if opt in (b"EX", b"PX"):
            return self.relative(unit)
        return self.absolute(unit, past=not setting)

    def getex_options(self):
        pick = self.rng.randrange(10)
        if pick < 2:
            return []
        if pick < 4:
            return [self.word(b"PERSIST")]
        if pick < 8:
            opt = self.rng.choice(SET_TIMED)
            return [self.word(opt), self.expiry_arg(opt, False)]
        return self.set_options()

    def expire_flags(self):
        n = self.rng.choice((0, 0, 1, 1, 2))
        flags = [self.word(self.rng.choice(EXPIRE_FLAGS)) for _ in range(n)]
        if self.rng.random() < 0.05:
            flags.append(self.rng.choice(BOGUS_WORDS))
        return flags

    def expire_command(self):
        name = self.rng.choice((b"EXPIRE", b"PEXPIRE", b"EXPIREAT", b"PEXPIREAT"))
        unit = "ms" if name.startswith(b"P") else "s"
        when = self.absolute(unit) if name.endswith(b"AT") else self.relative(unit)
        return [self.word(name), self.key(), when] + self.expire_flags()

    def mset_args(self):
        args = []
        for _ in range(self.rng.randint(1, 3)):
            args += [self.key(), self.value()]
        if self.rng.random() < 0.1:
            args.pop()
        return args

    def command(self):
        """One random command, sometimes with an argument too few or too many."""
        cmd = self.base_command()
        pick = self.rng.random()
        if pick < 0.03 and len(cmd) > 1:
            cmd.pop()
        elif pick < 0.06:
            cmd.append(self.rng.choice(BOGUS_WORDS[:2]))
        return cmd

    def base_command(self):
        pick = self.rng.randrange(24)
        if pick < 5:
            return [self.word(b"SET"), self.key(), self.value()] + self.set_options()
        if pick < 9:
            return self.expire_command()
        if pick < 11:
            return [self.word(self.rng.choice((b"TTL", b"PTTL"))), self.key()]
        if pick < 13:
            return [self.word(b"GETEX"), self.key()] + self.getex_options()
        if pick < 15:
            name = self.rng.choice((b"DEL", b"EXISTS", b"MGET"))
            return [self.word(name)] + self.keys()
        if pick < 16:
            return [self.word(b"MSET")] + self.mset_args()
        if pick < 17:
            return [self.word(b"APPEND"), self.key(), self.value()]
        if pick < 18:
            return [self.word(b"DBSIZE")]
        name = self.rng.choice((b"GET", b"GET", b"PERSIST", b"GETDEL", b"STRLEN", b"TYPE"))
        return [self.word(name), self.key()]


def state_check():
    """The commands that end every sequence: the whole state, compared."""
    cmds = [[b"DBSIZE"]]
    for k in KEYS:
        cmds += [[b"GET", k], [b"PTTL", k]]
    return cmds


def sequence(seed, length):
    gen = Gen(seed)
    return [gen.command() for _ in range(length)] + state_check()


# ---------------------------------------------------------------- comparing

def is_ttl(cmd):
    return cmd[0].upper() in (b"TTL", b"PTTL") and len(cmd) == 2


def same(cmd, r, g):
    """Equal bytes; for TTL and PTTL two non-negative integers within the
    tolerance (-1 and -2 compare exactly)."""
    if r == g or not is_ttl(cmd):
        return r == g
    a, b = harness.parse(r), harness.parse(g)
    if not (isinstance(a, int) and isinstance(b, int) and a >= 0 and b >= 0):
        return False
    tolerance = TTL_TOLERANCE_S if cmd[0].upper() == b"TTL" else PTTL_TOLERANCE_MS
    return abs(a - b) <= tolerance


def case_word(arg):
    """One argument in the syntax of cases.txt: a bare word when that reads
    back the same, @rep(N,c) for a long run of one byte, else a quoted
    string with escapes."""
    if isinstance(arg, AbsTime):
        return arg.case_word()
    if len(arg) >= REP_LEN_MIN and arg == arg[:1] * len(arg):
        c = arg[0]
        return "@rep(%d,%s)" % (len(arg), chr(c) if chr(c).isalnum() else "\\x%02x" % c)
    if arg and all(33 <= c < 127 and c not in b'"\\' for c in arg) and arg[:1] != b"@":
        return arg.decode()
    out = []
    for c in arg:
        ch = chr(c)
        if ch in '"\\':
            out.append("\\" + ch)
        elif 32 <= c < 127:
            out.append(ch)
        else:
            out.append({0: "\\0", 9: "\\t", 10: "\\n", 13: "\\r"}.get(c, "\\x%02x" % c))
    return '"%s"' % "".join(out)


def case_line(cmd):
    text = " ".join(case_word(a) for a in cmd)
    return ("approx: " + text) if is_ttl(cmd) else text


def show(b):
    s = repr(b[:SHOW_BYTES_MAX])
    return s + (" ... (%d bytes)" % len(b) if len(b) > SHOW_BYTES_MAX else "")


def report(seed, length, cmds, step, r, g, labels):
    """The failure text of one sequence: how to replay it, the sequence up to
    the differing command as a cases.txt case, and both replies."""
    lines = ["  seed %d, command %d of %d differs; replay: %s --seed %d --seqs 1 --len %d%s"
             % (seed, step + 1, len(cmds), sys.argv[0], seed, length,
                " --self" if labels[1] == "redis2" else ""),
             "  as a case (cases.txt syntax):", "=== random-seed-%d" % seed]
    lines += [case_line(c) for c in cmds[:step + 1]]
    lines += ["  %s: %s" % (labels[0], show(r)), "  %s: %s" % (labels[1], show(g))]
    return "\n".join(lines)


# ---------------------------------------------------------------- running

def send(conn, cmd, base_ms):
    args = [a.resolve(base_ms) if isinstance(a, AbsTime) else a for a in cmd]
    try:
        return conn.command(*args)
    except harness.Closed:
        return b"<closed>"
    except OSError as e:  # a timeout: the report still names the seed
        return ("<%s: %s>" % (type(e).__name__, e)).encode()


def run_sequence(conns, seed, length, labels):
    """Runs one sequence on both connections, command by command; returns
    None when every reply agrees, else the failure text."""
    cmds = sequence(seed, length)
    base_ms = int(time.time() * 1000)
    for step, cmd in enumerate(cmds):
        r, g = send(conns[0], cmd, base_ms), send(conns[1], cmd, base_ms)
        if not same(cmd, r, g):
            return report(seed, length, cmds, step, r, g, labels)
    return None


def fresh(server, planted):
    """A new connection to an emptied server (with the planted key)."""
    conn = harness.Conn(server.port)
    conn.command(b"FLUSHALL")
    if planted:
        conn.command(b"SET", PLANTED_KEY, b"1")
    return conn


def run_all(opts, redis_bin, dut_bin):
    tally = harness.Tally()
    ref = harness.Server("redis", redis_bin)
    dut = harness.Server("redis" if opts.self else "dynis", dut_bin)
    labels = ("redis", "redis2" if opts.self else "dynis")
    conns = []
    try:
        ref.start()
        dut.start()
        for seed in range(opts.seed, opts.seed + opts.seqs):
            conns = [fresh(ref, False), fresh(dut, opts.plant)]
            failure = run_sequence(conns, seed, opts.len, labels)
            for c in conns:
                c.close()
            tally.check(failure is None, "seed %d" % seed, failure or "")
            if not dut.alive():
                tally.check(False, "%s died during seed %d" % (labels[1], seed), dut.log_tail())
                break
    except (OSError, RuntimeError, harness.Closed) as e:
        tally.check(False, "harness", "%s: %s\n%s" % (type(e).__name__, e, dut.log_tail()))
    finally:
        for c in conns:
            c.close()
        ref.stop()
        dut.stop()
    return tally.finish()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--self", action="store_true", help="compare redis-server with itself")
    ap.add_argument("--seed", type=int, default=SEED_DEFAULT, help="first seed")
    ap.add_argument("--seqs", type=int, default=SEQS_DEFAULT, help="number of sequences")
    ap.add_argument("--len", type=int, default=LEN_DEFAULT, help="random commands per sequence")
    ap.add_argument("--plant", action="store_true",
                    help="with --self: an extra key on the second server (must fail)")
    opts = ap.parse_args()
    if not (1 <= opts.seqs <= SEQS_MAX and 0 <= opts.len <= LEN_MAX):
        ap.error("--seqs must be 1..%d and --len 0..%d" % (SEQS_MAX, LEN_MAX))
    if opts.plant and not opts.self:
        ap.error("--plant only makes sense with --self")

    redis_bin = harness.redis_server_path()
    if not redis_bin:
        print("redis-server is not installed: skipping\n0 passed, 0 failed")
        return harness.SKIP
    dut_bin = redis_bin if opts.self else harness.dynis_server_path()
    if not dut_bin:
        print("dynis-server not found (set DYNIS_SERVER)\n0 passed, 1 failed")
        return 1
    return run_all(opts, redis_bin, dut_bin)


if __name__ == "__main__":
    sys.exit(main())
