#!/usr/bin/python3
"""A one-connection TLS server for tests (Python's standard library only):
listens on a free port of 127.0.0.1 (written to --port-file once it
listens), takes one connection, does the TLS handshake at once (direct
TLS) and prints what the client showed: the SNI name, the ALPN protocol
agreed ("xmpp-client" if the client offered it) and the first bytes it sent
after the handshake (up to the end of its stream header). Exit 0 after one
connection, 1 if none came within --timeout seconds.

  tls_probe.py --cert localhost.crt --key localhost.key --port-file FILE
"""

import argparse
import os
import socket
import ssl
import sys


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--timeout", type=float, default=20)
    args = p.parse_args()

    seen = {}

    def on_sni(sock, name, ctx):
        seen["sni"] = name

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    ctx.set_alpn_protocols(["xmpp-client"])
    ctx.sni_callback = on_sni
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    srv.settimeout(args.timeout)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.getsockname()[1])
    os.rename(tmp, args.port_file)
    try:
        conn, _ = srv.accept()
    except socket.timeout:
        print("no connection", file=sys.stderr)
        return 1
    conn.settimeout(5)
    tls = ctx.wrap_socket(conn, server_side=True)
    print("sni: %s" % seen.get("sni"))
    print("alpn: %s" % tls.selected_alpn_protocol())
    data = b""
    try:
        while data.count(b">") < 2:  # the XML declaration, the header
            chunk = tls.recv(4096)
            if not chunk:
                break
            data += chunk
    except (socket.timeout, ssl.SSLError, OSError):
        pass
    print("first: %s" % data.decode("utf-8", "replace"))
    tls.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
