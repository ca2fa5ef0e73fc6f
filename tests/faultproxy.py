#!/usr/bin/python3
"""A TCP proxy for the tests that cuts connections on purpose. Between a
client and a server on 127.0.0.1, it passes bytes through unchanged until
it cuts a connection, told to by its control port or at a random time.

    faultproxy.py --listen 0 --target 5222 --control 0 [--lifetime 600]
        [--random-cut 2-30 --random-mode mixed --seed 1] [--max-conns 20000]

Once listening it prints one JSON line: {"ready": true, "listen": PORT,
"target": PORT, "control": PORT or null, "pid": N, "seed": N, "nofile": N}
(port 0 picks a free port; nofile is the open files limit, two per
connection). The control port answers each command line with a JSON line:
    cut rst|close|half|blackhole [N|all]  {"cut": K}: the N oldest, or all
    stats    {"accepted", "refused" (--max-conns), "failed" (target down),
             "bytes_up", "bytes_down", "open", "held", "cuts": {MODE: n}}
    release  {"released": K}        quit  {"quit": true}, and it exits
A cut stops forwarding, then: rst resets the client (SO_LINGER 0); close
closes both sides; half shuts the client's side down for writing (it gets
EOF, what it sends is read and dropped) and closes the server's; blackhole
keeps both open, reading and dropping, so the client hears nothing. Those
cut with half or blackhole are held until their peers close them, until
release, or until exit. It exits 0 after --lifetime seconds, on quit,
SIGTERM or SIGINT; 2 on bad arguments, 1 if it cannot listen.
"""

import argparse
import asyncio
import contextlib
import json
import os
import random
import resource
import signal
import socket
import struct
import sys

HOST = "127.0.0.1"
MODES = ("rst", "close", "half", "blackhole")
CHUNK = 65536


class Conn:
    """One proxied connection: the client's and the server's streams, the
    two pumps between them, and after a cut what holds it open."""

    def __init__(self, proxy, client, server):
        self.proxy = proxy
        self.cr, self.cw = client
        self.sr, self.sw = server
        self.timer = self.holder = None  # the --random-cut timer, the hold
        self.pumps = [
            asyncio.create_task(self.pump(self.cr, self.sw, "bytes_up")),
            asyncio.create_task(self.pump(self.sr, self.cw, "bytes_down"))]

    async def pump(self, src, dst, counter):
        try:
            while data := await src.read(CHUNK):
                dst.write(data)
                self.proxy.counts[counter] += len(data)
                await dst.drain()  # the backpressure
            dst.write_eof()  # a half-close is passed on
        except OSError:  # a reset on either side ends both
            self.close()

    def close(self):
        self.cw.close()
        self.sw.close()

    def cut(self, mode):
        for pump in self.pumps:
            pump.cancel()  # it writes nothing more
        if mode == "rst":
            with contextlib.suppress(OSError):  # closed by the client already
                self.cw.get_extra_info("socket").setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.cw.transport.abort()
            self.sw.close()
        elif mode == "close":
            self.close()
        elif mode == "half":
            self.cw.write_eof()
            self.sw.close()
            self.holder = asyncio.create_task(self.hold([self.cr]))
        else:
            self.holder = asyncio.create_task(self.hold([self.cr, self.sr]))

    async def hold(self, readers):
        await asyncio.wait(self.pumps)  # until they let go of the readers
        await asyncio.gather(*(drop(reader) for reader in readers))
        self.close()
        self.proxy.held.discard(self)


async def drop(reader):
    """Reads and drops what comes, until EOF or an error."""
    with contextlib.suppress(OSError):
        while await reader.read(CHUNK):
            pass


class Proxy:
    def __init__(self, args, seed):
        self.args = args
        self.rng = random.Random(seed)
        self.open = {}  # forwarding connections, oldest first (keys)
        self.held = set()  # cut with half or blackhole, not closed yet
        self.counts = dict.fromkeys(("accepted", "refused", "failed",
                                     "bytes_up", "bytes_down"), 0)
        self.cuts = dict.fromkeys(MODES, 0)
        self.stop = asyncio.Event()

    async def accept(self, cr, cw):
        self.counts["accepted"] += 1
        if len(self.open) + len(self.held) >= self.args.max_conns:
            self.counts["refused"] += 1
            cw.close()
            return
        loop = asyncio.get_running_loop()
        if self.args.random_cut:  # drawn in the order of acceptance
            when = loop.time() + self.rng.uniform(*self.args.random_cut)
            mode = self.args.random_mode or "mixed"
            if mode == "mixed":
                mode = self.rng.choice(MODES)
        try:
            server = await asyncio.open_connection(HOST, self.args.target)
        except OSError:
            self.counts["failed"] += 1
            cw.close()
            return
        conn = Conn(self, (cr, cw), server)
        self.open[conn] = None
        if self.args.random_cut:
            conn.timer = loop.call_at(when, self.cut, conn, mode)
        await asyncio.wait(conn.pumps)
        if conn in self.open:  # ended by its peers, not cut
            self.forget(conn)
            conn.close()

    def cut(self, conn, mode):
        if conn not in self.open:  # cut already, or closed
            return
        self.forget(conn)
        self.cuts[mode] += 1
        if mode in ("half", "blackhole"):
            self.held.add(conn)
        conn.cut(mode)

    def forget(self, conn):
        del self.open[conn]
        if conn.timer:
            conn.timer.cancel()

    async def control(self, reader, writer):
        try:
            while line := await reader.readline():
                answer = self.command(line.decode(errors="replace").split())
                writer.write(json.dumps(answer).encode() + b"\n")
                await writer.drain()
        except (OSError, ValueError):  # ValueError: a line too long
            pass
        writer.close()

    def command(self, words):
        cmd, rest = (words[0], words[1:]) if words else ("", [])
        if cmd == "cut" and 1 <= len(rest) <= 2 and rest[0] in MODES:
            n = rest[1] if len(rest) == 2 else "all"
            if n != "all" and not (n.isascii() and n.isdigit()):
                return {"error": f"cut: not a count: {n}"}
            victims = list(self.open)[:None if n == "all" else int(n)]
            for conn in victims:
                self.cut(conn, rest[0])
            return {"cut": len(victims)}
        if cmd == "stats" and not rest:
            return {**self.counts, "open": len(self.open),
                    "held": len(self.held), "cuts": self.cuts}
        if cmd == "release" and not rest:
            for conn in self.held:
                conn.close()
            return {"released": len(self.held)}
        if cmd == "quit" and not rest:
            self.stop.set()
            return {"quit": True}
        return {"error": "unknown command: " + " ".join(words)}


def raise_fd_limit():
    """Raises the soft limit on open files to the hard one; returns it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        return hard
    except (ValueError, OSError):  # an unlimited hard limit
        return soft


async def serve(args):
    nofile = raise_fd_limit()
    seed = args.seed if args.seed is not None else random.randrange(1 << 32)
    proxy = Proxy(args, seed)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, proxy.stop.set)
    servers = []
    try:
        for handler, port in ((proxy.accept, args.listen),
                              (proxy.control, args.control)):
            if port is not None:
                servers.append(await asyncio.start_server(
                    handler, HOST, port, backlog=4096))
    except OSError as e:
        print(f"faultproxy.py: cannot listen on {HOST}: {e.strerror or e}",
              file=sys.stderr)
        return 1
    ports = [s.sockets[0].getsockname()[1] for s in servers] + [None]
    print(json.dumps({"ready": True, "listen": ports[0], "target": args.target,
                      "control": ports[1], "pid": os.getpid(), "seed": seed,
                      "nofile": nofile}), flush=True)
    try:
        await asyncio.wait_for(proxy.stop.wait(), args.lifetime)
    except asyncio.TimeoutError:
        pass
    for server in servers:
        server.close()
    for conn in [*proxy.open, *proxy.held]:
        conn.close()
    await asyncio.sleep(0)  # the transports close on the next iteration
    return 0


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, status 2
        self.exit(2, f"{self.prog}: {message}\n")


def number(kind, low, high, convert=int):
    """An argparse type: a KIND from LOW to HIGH."""
    def parse(text):
        with contextlib.suppress(ValueError):
            if low <= (value := convert(text)) <= high:
                return value
        raise argparse.ArgumentTypeError(
            f"not a {kind} ({low} to {high}): {text!r}")
    return parse


def window(text):
    """MIN-MAX seconds, for --random-cut."""
    with contextlib.suppress(ValueError):
        low, high = map(float, text.split("-"))
        if 0 <= low <= high <= 1e7:
            return low, high
    raise argparse.ArgumentTypeError(
        f"not MIN-MAX seconds, 0 <= MIN <= MAX: {text!r}")


def parse_args(argv):
    p = Parser(prog="faultproxy.py", description=__doc__.split("\n\n")[0])
    port = number("port", 0, 65535)
    p.add_argument("--listen", type=port, metavar="PORT", required=True,
                   help="port to listen on, on 127.0.0.1 (0: a free one)")
    p.add_argument("--target", type=number("port", 1, 65535), metavar="PORT",
                   required=True, help="port on 127.0.0.1 to forward to")
    p.add_argument("--control", type=port, metavar="PORT",
                   help="port of the control interface (0: a free one)")
    p.add_argument("--random-cut", type=window, metavar="MIN-MAX",
                   help="cut each connection MIN to MAX s after it is accepted")
    p.add_argument("--random-mode", choices=MODES + ("mixed",),
                   help="how --random-cut cuts (mixed: any, at random; default)")
    p.add_argument("--seed", type=number("seed", 0, 2**64 - 1), metavar="N",
                   help="seed of --random-cut (default: random, shown)")
    p.add_argument("--lifetime", default=600.0, metavar="SECONDS",
                   type=number("number of seconds", 0.001, 1e7, float),
                   help="exit after this long (default 600)")
    p.add_argument("--max-conns", type=number("count", 1, 10**6), metavar="N",
                   default=20000,
                   help="refuse more connections than this (default 20000)")
    args = p.parse_args(argv)
    if args.random_mode and not args.random_cut:
        p.error("--random-mode needs --random-cut")
    return args


if __name__ == "__main__":
    sys.exit(asyncio.run(serve(parse_args(sys.argv[1:]))))
