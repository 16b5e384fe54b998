#!/usr/bin/python3
"""cluster_fake.py - a fake dynis cluster for client-compatibility tests.

    cluster_fake.py DIR PORT...

Listens on 127.0.0.1:PORT for each node i (in order) and answers CLUSTER
SLOTS/NODES/SHARDS/INFO/MYID with the exact bytes cluster_fake_render wrote
to DIR/<i>.<sub><resp> (RESP2, or RESP3 after HELLO 3). GET/SET/DEL go to one
shared dict, as a dynis node would proxy them, but every keyed command is
checked against DIR/masters (the node each slot routes to): FAKE.STATS answers
[keyed commands, misrouted ones], so a test can prove that a client routed
every key by what the CLUSTER replies said. Prints "ready" once listening.
Test-only: the serving half of cluster_fake.sh.
"""
import asyncio
import os
import sys

SLOT_COUNT = 16384
KEYED = {b"get", b"set", b"del", b"exists", b"incr"}
COMMAND_INFO = [  # name, arity, flags, first key, last key, step
    (b"get", 2, [b"readonly", b"fast"], 1, 1, 1),
    (b"set", -3, [b"write", b"denyoom"], 1, 1, 1),
    (b"del", -2, [b"write"], 1, -1, 1),
    (b"exists", -2, [b"readonly", b"fast"], 1, -1, 1),
    (b"ping", -1, [b"fast"], 0, 0, 0),
    (b"info", -1, [b"loading", b"stale"], 0, 0, 0),
    (b"cluster", -2, [], 0, 0, 0),
]


def crc16(data):
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def key_slot(key):
    start = key.find(b"{")
    if start >= 0:
        end = key.find(b"}", start + 1)
        if end > start + 1:
            key = key[start + 1:end]
    return crc16(key) % SLOT_COUNT


def bulk(b):
    return b"$%d\r\n%s\r\n" % (len(b), b)


def encode(v):
    if v is None:
        return b"$-1\r\n"
    if isinstance(v, int):
        return b":%d\r\n" % v
    if isinstance(v, bytes):
        return bulk(v)
    return b"*%d\r\n" % len(v) + b"".join(encode(x) for x in v)


class Fake:
    def __init__(self, directory, ports):
        self.dir = directory
        self.ports = ports
        with open(os.path.join(directory, "masters"), "rb") as f:
            self.masters = f.read().strip()
        assert len(self.masters) == SLOT_COUNT
        self.data = {}
        self.keyed = 0
        self.misrouted = 0

    def canned(self, node, sub, resp):
        name = "%d.%s%d" % (node, sub.decode().lower(), resp)
        path = os.path.join(self.dir, name)
        if not os.path.exists(path):
            return b"-ERR unknown subcommand '%s'. Try CLUSTER HELP.\r\n" % sub
        with open(path, "rb") as f:
            return f.read()

    def route(self, node, key):
        self.keyed += 1
        if self.masters[key_slot(key)] - ord("0") != node:
            self.misrouted += 1

    def answer(self, node, conn, argv):
        name = argv[0].lower()
        if name in KEYED and len(argv) > 1:
            self.route(node, argv[1])
        if name == b"cluster" and len(argv) >= 2:
            return self.canned(node, argv[1], conn["resp"])
        if name == b"hello":
            if len(argv) > 1:
                conn["resp"] = int(argv[1])
            fields = [b"server", b"redis", b"version", b"7.0.15", b"proto", conn["resp"]]
            if conn["resp"] == 3:
                return b"%%%d\r\n" % (len(fields) // 2) + b"".join(encode(x) for x in fields)
            return encode(fields)
        if name == b"set":
            self.data[argv[1]] = argv[2]
            return b"+OK\r\n"
        if name == b"get":
            return encode(self.data.get(argv[1]))
        if name == b"del":
            return encode(sum(1 for k in argv[1:] if self.data.pop(k, None) is not None))
        if name == b"ping":
            return b"+PONG\r\n"
        if name == b"info":
            return bulk(b"# Server\r\nredis_version:7.0.15\r\nredis_mode:cluster\r\n"
                        b"\r\n# Cluster\r\ncluster_enabled:1\r\n")
        if name == b"config" and len(argv) == 3:
            return encode([argv[2], b""])
        if name == b"command":
            return encode([list(c) for c in COMMAND_INFO])
        if name == b"dbsize":
            return encode(len(self.data))
        if name in (b"select", b"client", b"readonly", b"readwrite"):
            return b"+OK\r\n"
        if name == b"fake.stats":
            return encode([self.keyed, self.misrouted])
        return b"-ERR unknown command '%s'\r\n" % argv[0]

    async def serve(self, node, reader, writer):
        conn = {"resp": 2}
        try:
            while True:
                argv = await read_command(reader)
                if argv is None:
                    break
                writer.write(self.answer(node, conn, argv))
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


async def read_command(reader):
    """One request: a RESP array of bulk strings, or an inline line."""
    line = await reader.readline()
    if not line:
        return None
    if not line.startswith(b"*"):
        return line.split()
    argv = []
    for _ in range(int(line[1:])):
        header = await reader.readline()
        n = int(header[1:])
        argv.append((await reader.readexactly(n + 2))[:-2])
    return argv


async def main():
    fake = Fake(sys.argv[1], [int(p) for p in sys.argv[2:]])
    servers = []
    for node, port in enumerate(fake.ports):
        def handler(r, w, node=node):
            return fake.serve(node, r, w)
        servers.append(await asyncio.start_server(handler, "127.0.0.1", port))
    print("ready", flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))


if __name__ == "__main__":
    asyncio.run(main())
