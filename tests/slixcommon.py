"""What the slixmpp test clients (tests/slix_*.py) share: their connection
options, a client that ends the run with a reason on any connection
failure, one line per check, running the loop with a hard deadline, and
the checks of an echo bot.

The scripts import it from their own directory, which Python puts first on
sys.path, so they work from any working directory (make check runs them
from the build tree as $top_srcdir/tests/slix_X.py).
"""

import argparse
import asyncio
import logging
import secrets
import xml.etree.ElementTree as ET

import slixmpp
from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

UNKNOWN_NS = "urn:xmppbots:test:no-such-protocol"

# Events that end a run, and how the failure is reported.
FAILURES = (("failed_auth", "authentication failed"),
            ("ssl_invalid_chain", "certificate verification failed"),
            ("connection_failed", "connection failed"),
            ("disconnected", "disconnected"))


def parser(doc, tls_required=True):
    """An argument parser with the connection options: --host, --port,
    --jid, --password, --cafile (STARTTLS verified against it; without it,
    unless tls_required, plain TCP) and -v."""
    p = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5222)
    p.add_argument("--jid", required=True)
    p.add_argument("--password", required=True)
    if tls_required:
        p.add_argument("--cafile", required=True,
                       help="CA (or self-signed) certificate to verify the server")
    else:
        p.add_argument("--cafile",
                       help="use STARTTLS, verifying the server with this CA")
    p.add_argument("-v", "--verbose", action="store_true")
    return p


def parse_args(p):
    """Parses the command line; -v shows slixmpp's debug log."""
    args = p.parse_args()
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.CRITICAL,
                        format="%(levelname)-8s %(message)s")
    return args


class Client(slixmpp.ClientXMPP):
    """A test client: self.done is resolved when the run is over, with the
    result or with the failure that ended it; report() prints one check.
    Subclasses define run_checks(), run once the session has started, or
    replace on_start()."""

    def __init__(self, args, plugins=()):
        super().__init__(args.jid, args.password)
        self.args = args
        if args.cafile:
            self.ca_certs = args.cafile
        else:
            self["feature_mechanisms"].unencrypted_plain = True
        for plugin in plugins:
            self.register_plugin(plugin)
        self.done = asyncio.get_event_loop().create_future()
        self.results = []
        self.add_event_handler("session_start", self.on_start)
        for event, what in FAILURES:
            self.add_event_handler(event, self.on_fail(what))

    def on_fail(self, what):
        def handler(event):
            if not self.done.done():
                detail = f": {event}" if event not in (None, "") else ""
                self.done.set_exception(RuntimeError(what + detail))
        return handler

    def report(self, name, ok, detail=""):
        self.results.append(ok)
        line = f"{'ok' if ok else 'FAIL'} - {name}"
        if detail:
            line += f": {detail}"
        print(line, flush=True)

    async def run_checks(self):
        raise NotImplementedError

    async def on_start(self, _event):
        try:
            self.send_presence()
            await self.run_checks()
            if not self.done.done():
                self.done.set_result(all(self.results))
        except Exception as e:  # report, never hang
            if not self.done.done():
                self.done.set_exception(e)

    def is_secure(self):
        transport = self.transport
        return transport is not None and \
            transport.get_extra_info("ssl_object") is not None

    def connect_to_server(self):
        """Connects: STARTTLS required with --cafile, else plain TCP."""
        if self.args.cafile:
            self.connect((self.args.host, self.args.port), force_starttls=True)
        else:
            self.connect((self.args.host, self.args.port), force_starttls=False,
                         disable_starttls=True)

    def run_for(self, seconds):
        """Connects and runs the loop until self.done is resolved, for at
        most SECONDS, then disconnects (waiting 3 s at most). Returns the
        result; raises asyncio.TimeoutError when the time is up, or the
        failure that ended the run."""
        self.connect_to_server()
        try:
            return self.loop.run_until_complete(
                asyncio.wait_for(asyncio.shield(self.done), seconds))
        finally:
            if not self.done.done():
                self.done.cancel()
            try:
                self.loop.run_until_complete(
                    asyncio.wait_for(self.disconnect(wait=1), 3))
            except Exception:
                pass

    def run_checks_for(self, seconds, summary):
        """run_for() for a client whose run is a list of checks: a failed run
        is one more FAIL line, and the last line is SUMMARY, a str.format()
        template with {passed} and {n}. Returns the exit status: 0 only if
        the run ended with every check passed."""
        try:
            ok = self.run_for(seconds)
        except asyncio.TimeoutError:
            print(f"FAIL - run did not finish within {seconds} s", flush=True)
            ok = False
        except Exception as e:
            print(f"FAIL - {e}", flush=True)
            ok = False
        n = len(self.results)
        passed = sum(1 for r in self.results if r)
        print(summary.format(passed=passed, n=n), flush=True)
        return 0 if ok and n and passed == n else 1


def big_body(size):
    """About SIZE bytes of mixed 1-4 byte UTF-8 and XML specials."""
    unit = "0123456789 abcdef <&>\"' é ß 中 \U0001F600\n"
    body = unit * (size // len(unit.encode()) + 1)
    while len(body.encode()) > size:
        body = body[:-1]
    return body


class EchoTester(Client):
    """Checks an echo bot (args.echo_jid; its resource is "bot" if the JID
    has none): messages of each of CASES to its bare JID, and one to its
    full JID, come back exact (body, thread, id, type, from its full JID,
    to us); groupchat, headline and body-less chat-state messages get no
    answer within args.silence; a ping gets a result and an unknown IQ
    cancel/service-unavailable. With args.quick, only the first case. Over
    TLS (args.cafile) the stream must be encrypted. args.timeout bounds
    each answer."""

    # (case name, message type or None for no type attribute, body or None
    # for big_body(BIG))
    CASES = []
    BIG = 65536
    FULL_JID_BODY = "to the full JID \U0001F600"
    ID_PREFIX = "xb"
    # Whether the check names say if the echo was sent to the bare or the
    # full JID ("echo ascii (to bare JID)").
    NAME_JID_KIND = False

    def __init__(self, args):
        super().__init__(args, plugins=("xep_0030", "xep_0085", "xep_0199"))
        self.echo_bare = slixmpp.JID(args.echo_jid).bare
        self.echo_full = args.echo_jid if "/" in args.echo_jid \
            else args.echo_jid + "/bot"
        self.waiters = {}     # id -> future of the echoed message
        self.register_handler(Callback(
            "all messages", MatchXPath("{jabber:client}message"),
            self.on_message))

    def on_message(self, msg):
        if msg["from"].bare != self.echo_bare:
            return
        fut = self.waiters.get(msg["id"])
        if fut is not None and not fut.done():
            fut.set_result(msg)

    def send_case(self, to, mtype, body, thread=None, extra=None, name="x"):
        msg = self.Message()
        msg["to"] = to
        if mtype is not None:
            msg["type"] = mtype
        msg["id"] = f"{self.ID_PREFIX}-{name}-{secrets.token_hex(4)}"
        if body is not None:
            msg["body"] = body
        if thread is not None:
            msg["thread"] = thread
        if extra is not None:
            extra(msg)
        self.waiters[msg["id"]] = self.loop.create_future()
        msg.send()
        return msg

    def compare(self, sent, got):
        problems = []
        if got["body"].encode() != sent["body"].encode():
            a, b = sent["body"], got["body"]
            i = next((k for k in range(min(len(a), len(b))) if a[k] != b[k]),
                     min(len(a), len(b)))
            problems.append(f"body differs at char {i} (sent {len(a)} chars,"
                            f" got {len(b)}): {b[i:i + 20]!r}")
        if got["thread"] != sent["thread"]:
            problems.append(f"thread {got['thread']!r} != {sent['thread']!r}")
        if got["type"] != sent["type"]:
            problems.append(f"type {got['type']!r} != {sent['type']!r}")
        if got.xml.get("type") != sent.xml.get("type"):
            problems.append(f"type attribute {got.xml.get('type')!r} != "
                            f"{sent.xml.get('type')!r}")
        if got["to"] != self.boundjid:
            problems.append(f"to {got['to']} is not us ({self.boundjid})")
        if got["from"].full != self.echo_full:
            problems.append(f"from {got['from']} is not {self.echo_full}")
        return "; ".join(problems)

    async def run_echoes(self, cases, to):
        sent = []
        for name, mtype, body in cases:
            if body is None:
                body = big_body(self.BIG)
            thread = f"thread-{name}-{secrets.token_hex(3)}"
            sent.append((name, self.send_case(to, mtype, body, thread,
                                              name=name)))
        for name, msg in sent:
            check = f"echo {name}"
            if self.NAME_JID_KIND:
                kind = "full" if slixmpp.JID(to).resource else "bare"
                check += f" (to {kind} JID)"
            try:
                got = await asyncio.wait_for(self.waiters[msg["id"]],
                                             self.args.timeout)
            except asyncio.TimeoutError:
                self.report(check, False,
                            f"no echo within {self.args.timeout} s")
                continue
            detail = self.compare(msg, got)
            self.report(check, not detail, detail)

    def send_ignored(self):
        """Messages an echo bot must not answer, sent to its full JID (the
        server itself refuses groupchat to a bare JID): check name -> id."""
        ids = {}
        ids["groupchat not answered"] = self.send_case(
            self.echo_full, "groupchat", "groupchat body", name="groupchat")["id"]
        ids["headline not answered"] = self.send_case(
            self.echo_full, "headline", "headline body", name="headline")["id"]

        def composing(m):
            m["chat_state"] = "composing"
        ids["chat state (no body) not answered"] = self.send_case(
            self.echo_full, "chat", None, extra=composing, name="chatstate")["id"]
        return ids

    async def check_ignored(self, ids):
        await asyncio.sleep(self.args.silence)
        for name, mid in ids.items():
            fut = self.waiters[mid]
            self.report(name, not fut.done(),
                        f"got {fut.result()}" if fut.done() else "")

    async def run_iqs(self):
        try:
            await self.plugin["xep_0199"].send_ping(self.echo_full,
                                                    timeout=self.args.timeout)
            self.report("ping answered with a result", True)
        except IqError as e:
            self.report("ping answered with a result", False,
                        f"error {e.iq['error']['condition']}")
            # The server itself refuses IQs to an absent resource with
            # service-unavailable: the next case proves nothing then.
            self.report("unknown IQ refused", False, "the bot is not online")
            return
        except IqTimeout:
            self.report("ping answered with a result", False, "timeout")

        iq = self.make_iq_get(ito=self.echo_full)
        iq.xml.append(ET.Element(f"{{{UNKNOWN_NS}}}query"))
        try:
            res = await iq.send(timeout=self.args.timeout)
            self.report("unknown IQ refused", False, f"got a result: {res}")
        except IqError as e:
            cond = e.iq["error"]["condition"]
            etype = e.iq["error"]["type"]
            self.report("unknown IQ refused with cancel/service-unavailable",
                        cond == "service-unavailable" and etype == "cancel",
                        f"{etype}/{cond}")
        except IqTimeout:
            self.report("unknown IQ refused", False, "timeout")

    async def run_checks(self):
        if self.args.cafile and not self.is_secure():
            raise RuntimeError("stream is not encrypted")
        if self.args.quick:
            await self.run_echoes(self.CASES[:1], self.echo_bare)
            return
        ignored = self.send_ignored()
        await self.run_iqs()
        await self.run_echoes(self.CASES, self.echo_bare)
        await self.run_echoes([("full-jid", "chat", self.FULL_JID_BODY)],
                              self.echo_full)
        await self.check_ignored(ignored)
        # Still alive after what it ignored?
        await self.run_echoes([("after-ignored", "chat", "still there?")],
                              self.echo_bare)
