"""harness.py - shared by the redis-tests scripts: starting a real redis-server
and a dynis-server on free ports in temporary directories, a raw RESP client
over a plain socket that returns each reply as its exact bytes, and the
closing "N passed, M failed" line.

Standard library only; run with /usr/bin/python3 (Debian's), never with
whatever python3 comes first on PATH.

Which dynis-server: $DYNIS_SERVER (set by `make check`), else
build/dynis-server in the source tree. Tests that cannot find redis-server
exit 77 (skip)."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SKIP = 77
START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0
REPLY_TIMEOUT_S = 10.0
READ_CHUNK = 65536
# Both servers get the same bulk limit so the "invalid bulk length" cases
# compare; 2 MiB leaves room for the 1 MiB values.
PROTO_MAX_BULK_LEN = 2 * 1024 * 1024
BUS_OFFSET = 10000
PORT_MAX = 65535
FREE_PORT_ATTEMPTS_MAX = 100

TOP_SRCDIR = os.environ.get("top_srcdir") or os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))


def redis_server_path():
    """The redis-server binary, or None when it is not installed."""
    return shutil.which("redis-server") or (
        "/usr/bin/redis-server" if os.access("/usr/bin/redis-server", os.X_OK) else None)


def dynis_server_path():
    """The dynis-server under test: $DYNIS_SERVER, else build/dynis-server."""
    path = os.environ.get("DYNIS_SERVER") or os.path.join(TOP_SRCDIR, "build", "dynis-server")
    return path if os.access(path, os.X_OK) else None


def free_port():
    """A TCP port on 127.0.0.1 that the OS says is free right now, with
    port + BUS_OFFSET (the server's default bus port) free too."""
    for _ in range(FREE_PORT_ATTEMPTS_MAX):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
            if port + BUS_OFFSET > PORT_MAX:
                continue
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as bus:
                try:
                    bus.bind(("127.0.0.1", port + BUS_OFFSET))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port")


class Server:
    """One server process on a free port with its own temporary directory.
    kind is "redis" or "dynis"; extra is a list of more command-line
    options. stop() ends the process and removes the directory."""

    def __init__(self, kind, binary, extra=()):
        self.kind = kind
        self.binary = binary
        self.dir = tempfile.mkdtemp(prefix="dynis-%s-" % kind)
        self.log_path = os.path.join(self.dir, "server.log")
        self.proc = None
        self.port = None
        self.extra = list(extra)

    def _argv(self, port):
        common = ["--port", str(port), "--bind", "127.0.0.1",
                  "--proto-max-bulk-len", str(PROTO_MAX_BULK_LEN)]
        if self.kind == "redis":
            return [self.binary] + common + [
                "--save", "", "--appendonly", "no", "--dir", self.dir,
                "--daemonize", "no"] + self.extra
        data = os.path.join(self.dir, "data")
        return [self.binary] + common + ["--dir", data] + self.extra

    def start(self):
        """Starts the server and waits until it answers PING; retries on a
        new port if the chosen one was taken meanwhile."""
        ATTEMPTS_MAX = 3
        for _ in range(ATTEMPTS_MAX):
            self.port = free_port()
            log = open(self.log_path, "ab")
            self.proc = subprocess.Popen(self._argv(self.port), stdout=log, stderr=log,
                                         stdin=subprocess.DEVNULL, cwd=self.dir)
            log.close()
            if self._wait_ready():
                return self
            self._kill()
        raise RuntimeError("%s did not start; log:\n%s" % (self.kind, self.log_tail()))

    def _wait_ready(self):
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with Conn(self.port, timeout=1.0) as c:
                    if c.command(b"PING") == b"+PONG\r\n":
                        return True
            except OSError:
                pass
            time.sleep(0.02)
        return False

    def log_tail(self, lines=20):
        try:
            with open(self.log_path, "rb") as f:
                return b"".join(f.readlines()[-lines:]).decode("utf-8", "replace")
        except OSError:
            return ""

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def _kill(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def stop(self):
        self._kill()
        shutil.rmtree(self.dir, ignore_errors=True)


class Closed(Exception):
    """The server closed the connection before a whole reply arrived."""


class Conn:
    """A RESP connection that returns every reply as the exact bytes the
    server sent (RESP2 and RESP3)."""

    def __init__(self, port, timeout=REPLY_TIMEOUT_S):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data):
        self.sock.sendall(data)

    def command(self, *args):
        """Sends one command (a multibulk of bytes/str args), returns its reply."""
        self.send(encode_command(args))
        return self.read_reply()

    def _fill(self):
        try:
            chunk = self.sock.recv(READ_CHUNK)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            raise Closed()
        self.buf += chunk

    def _line(self, pos):
        while True:
            end = self.buf.find(b"\r\n", pos)
            if end >= 0:
                return end + 2
            self._fill()

    def _need(self, end):
        while len(self.buf) < end:
            self._fill()

    def _skip(self, pos):
        """Returns the offset just past the reply starting at pos."""
        end = self._line(pos)
        kind, head = self.buf[pos:pos + 1], self.buf[pos + 1:end - 2]
        if kind in b"$=!":
            n = int(head)
            if n < 0:
                return end
            self._need(end + n + 2)
            return end + n + 2
        if kind in b"*~>%|":
            n = int(head)
            if kind in b"%|":
                n *= 2
            for _ in range(max(n, 0)):
                end = self._skip(end)
            return end
        return end  # + - : _ , # ( single line

    def read_reply(self):
        """The next whole reply as bytes; raises Closed at EOF."""
        end = self._skip(0)
        reply, self.buf = self.buf[:end], self.buf[end:]
        return reply

    def read_until_closed(self, timeout):
        """Everything the server sends until it closes the connection (True)
        or timeout seconds pass (False)."""
        self.sock.settimeout(timeout)
        try:
            while True:
                self._fill()
        except Closed:
            return True
        except socket.timeout:
            return False


def encode_command(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        elif isinstance(a, int):
            a = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def parse(data):
    """Parses one reply's bytes into Python values: bytes for strings,
    int, None, lists (arrays, sets, maps flattened), ("err", text)."""
    value, _ = _parse_at(data, 0)
    return value


def _parse_at(data, pos):
    end = data.index(b"\r\n", pos)
    kind, head = data[pos:pos + 1], data[pos + 1:end]
    pos = end + 2
    if kind in b"$=!":
        n = int(head)
        if n < 0:
            return None, pos
        value = data[pos:pos + n]
        return (("err", value) if kind == b"!" else value), pos + n + 2
    if kind in b"*~>%|":
        n = int(head)
        if n < 0:
            return None, pos
        n = n * 2 if kind in b"%|" else n
        items = []
        for _ in range(n):
            item, pos = _parse_at(data, pos)
            items.append(item)
        return items, pos
    if kind == b":":
        return int(head), pos
    if kind == b"-":
        return ("err", head), pos
    if kind == b"_":
        return None, pos
    return head, pos


class Tally:
    """Counts passed and failed checks and prints the closing line."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, ok, name, detail=""):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print("FAIL: %s%s" % (name, ("\n" + detail) if detail else ""))
        return ok

    def finish(self):
        print("%d passed, %d failed" % (self.passed, self.failed))
        sys.stdout.flush()
        return 0 if self.failed == 0 and self.passed > 0 else 1
