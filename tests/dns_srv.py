#!/usr/bin/env python3
"""A tiny DNS server for tests (standard library only): answers SRV and A
queries over UDP from a JSON zone file, read again for every query so that
a test can change the answers while it runs. Logs each query, one line
"NAME TYPE" to --log. Writes --ready once it listens.

  dns_srv.py --port 53 --zone zone.json --log queries.log --ready FILE

zone.json: {"srv": {"_xmpp-client._tcp.localhost":
                    [[priority, weight, port, "target"], ...]},
            "a": {"xmpp.test": "127.0.0.1"}}
A target "." is the root name. A name the zone has, asked for another type
(AAAA...), gets an empty answer; any other name gets NXDOMAIN.
"""

import argparse
import json
import socket
import struct

T_A, T_SRV = 1, 33
TYPES = {1: "A", 28: "AAAA", 33: "SRV"}


def encode_name(name):
    out = b""
    for label in name.strip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def parse_question(msg):
    """(name, qtype, end offset) of the first question."""
    i, labels = 12, []
    while msg[i]:
        n = msg[i]
        labels.append(msg[i + 1:i + 1 + n].decode("ascii", "replace"))
        i += n + 1
    qtype, _ = struct.unpack("!HH", msg[i + 1:i + 5])
    return ".".join(labels).lower(), qtype, i + 5


def answer(msg, zone):
    qid, flags = struct.unpack("!HH", msg[:4])
    name, qtype, end = parse_question(msg)
    srv = {k.lower().strip("."): v for k, v in zone.get("srv", {}).items()}
    a = {k.lower().strip("."): v for k, v in zone.get("a", {}).items()}
    rrs = []
    if qtype == T_SRV and name in srv:
        for prio, weight, port, target in srv[name]:
            rdata = struct.pack("!HHH", prio, weight, port) + encode_name(target)
            rrs.append((T_SRV, rdata))
    elif qtype == T_A and name in a:
        rrs.append((T_A, socket.inet_aton(a[name])))
    rcode = 0 if name in srv or name in a else 3
    head = struct.pack("!HHHHHH", qid, 0x8400 | (flags & 0x0100) | 0x0080 | rcode,
                       1, len(rrs), 0, 0)
    body = b""
    for rtype, rdata in rrs:
        body += struct.pack("!HHHIH", 0xC00C, rtype, 1, 1, len(rdata)) + rdata
    return head + msg[12:end] + body, name, qtype


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, default=53)
    p.add_argument("--zone", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--ready", required=True)
    args = p.parse_args()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", args.port))
    open(args.ready, "w").close()
    while True:
        msg, peer = sock.recvfrom(4096)
        try:
            with open(args.zone) as f:
                zone = json.load(f)
            reply, name, qtype = answer(msg, zone)
        except (ValueError, IndexError, OSError, struct.error):
            continue
        with open(args.log, "a") as f:
            f.write("%s %s\n" % (name, TYPES.get(qtype, qtype)))
        sock.sendto(reply, peer)


if __name__ == "__main__":
    main()
