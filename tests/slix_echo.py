#!/usr/bin/python3
"""Checks an xmppbots echo bot from an independent client (slixmpp).

Connects with STARTTLS (the server certificate is verified against --cafile),
sends tricky message bodies to the echo bot and checks that each echo is
exact (body, id, thread, type), that groupchat, headline and body-less
chat-state messages are not answered, and that the bot answers a ping and
refuses an unknown IQ with service-unavailable. One line per case; exit 0
only if every case passed. Run it with Debian's /usr/bin/python3 (slixmpp).

  slix_echo.py --port 5222 --jid tester@localhost --password pw \\
      --cafile certs/localhost.crt --echo-jid echobot@localhost/bot
"""

import argparse
import asyncio
import logging
import secrets
import sys
import xml.etree.ElementTree as ET

import slixmpp
from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

UNKNOWN_NS = "urn:xmppbots:test:no-such-protocol"

# (case name, message type or None for no type attribute, body)
ECHO_CASES = [
    ("ascii", "chat", "Hello, echo bot! 0123456789 ~!@#$%^*()_+-={}|[]\\:;,./?"),
    ("xml-specials", "chat", "< & ' \" ]]> &amp; <b>not a tag</b> &#x41;"),
    ("utf8-4byte", "chat", "emoji \U0001F600\U0001F389\U0001F44D\U0001F3FD "
     "\U0001F468\u200D\U0001F469\u200D\U0001F467 \U00010348 \U0001D11E"),
    ("scripts", "chat", "Ελληνικά Русский 中文 日本語 한국어 العربية עברית "
     "हिन्दी ไทย ქართული Ærøskøbing café naïve"),
    ("whitespace", "chat", "  \n\t leading and trailing whitespace \n\n\t  "),
    ("newlines", "chat", "line one\nline two\n\nline four after a blank\n"),
    ("big-100KiB", "chat", None),  # filled in below
    ("type-normal", "normal", "a message of type normal"),
    ("no-type", None, "a message without a type attribute"),
]


def big_body():
    """About 100 KiB of mixed 1-4 byte UTF-8 and XML specials."""
    unit = "0123456789 abcdef <&>\"' é ß 中 \U0001F600\n"
    body = (unit * (102400 // len(unit.encode()) + 1))
    while len(body.encode()) > 102400:
        body = body[:-1]
    return body


class EchoTester(slixmpp.ClientXMPP):
    def __init__(self, args):
        super().__init__(args.jid, args.password)
        self.args = args
        self.echo_bare = slixmpp.JID(args.echo_jid).bare
        self.echo_full = args.echo_jid if "/" in args.echo_jid \
            else args.echo_jid + "/bot"
        self.ca_certs = args.cafile
        self.register_plugin("xep_0030")
        self.register_plugin("xep_0085")
        self.register_plugin("xep_0199")
        self.done = asyncio.get_event_loop().create_future()
        self.results = []
        self.waiters = {}     # id -> future of the echoed message
        self.received = []    # every message from the echo bot
        self.register_handler(Callback(
            "all messages", MatchXPath("{jabber:client}message"),
            self.on_message))
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("failed_auth", self.on_fail("authentication failed"))
        self.add_event_handler("ssl_invalid_chain",
                               self.on_fail("certificate verification failed"))
        self.add_event_handler("connection_failed",
                               self.on_fail("connection failed"))
        self.add_event_handler("disconnected", self.on_fail("disconnected"))

    def on_fail(self, what):
        def handler(event):
            if not self.done.done():
                detail = f": {event}" if event not in (None, "") else ""
                self.done.set_exception(RuntimeError(what + detail))
        return handler

    def on_message(self, msg):
        if msg["from"].bare != self.echo_bare:
            return
        self.received.append(msg)
        fut = self.waiters.get(msg["id"])
        if fut is not None and not fut.done():
            fut.set_result(msg)

    def report(self, name, ok, detail=""):
        self.results.append(ok)
        line = f"{'ok' if ok else 'FAIL'} - {name}"
        if detail:
            line += f": {detail}"
        print(line, flush=True)

    def case_id(self, name):
        return f"xb-{name}-{secrets.token_hex(4)}"

    def send_case(self, to, mtype, body, thread=None, extra=None, name="x"):
        msg = self.Message()
        msg["to"] = to
        if mtype is not None:
            msg["type"] = mtype
        msg["id"] = self.case_id(name)
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
        return "; ".join(problems)

    async def run_echoes(self, cases, to):
        sent = []
        for name, mtype, body in cases:
            if body is None:
                body = big_body()
            thread = f"thread-{name}-{secrets.token_hex(3)}"
            sent.append((name, self.send_case(to, mtype, body, thread,
                                              name=name)))
        for name, msg in sent:
            try:
                got = await asyncio.wait_for(self.waiters[msg["id"]],
                                             self.args.timeout)
            except asyncio.TimeoutError:
                self.report(f"echo {name}", False,
                            f"no echo within {self.args.timeout} s")
                continue
            detail = self.compare(msg, got)
            self.report(f"echo {name}", not detail, detail)

    async def run_ignored(self):
        """Messages an echo bot must not answer, sent to its full JID (the
        server itself refuses groupchat to a bare JID)."""
        ids = {}
        msg = self.send_case(self.echo_full, "groupchat", "groupchat body",
                             name="groupchat")
        ids["groupchat not answered"] = msg["id"]
        msg = self.send_case(self.echo_full, "headline", "headline body",
                             name="headline")
        ids["headline not answered"] = msg["id"]

        def composing(m):
            m["chat_state"] = "composing"
        msg = self.send_case(self.echo_full, "chat", None, extra=composing,
                             name="chatstate")
        ids["chat state (no body) not answered"] = msg["id"]
        return ids

    async def check_ignored(self, ids):
        await asyncio.sleep(self.args.silence)
        for name, mid in ids.items():
            fut = self.waiters[mid]
            if fut.done():
                self.report(name, False, f"got {fut.result()}")
            else:
                self.report(name, True)

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
            self.report("unknown IQ refused with service-unavailable",
                        cond == "service-unavailable" and etype == "cancel",
                        f"{etype}/{cond}")
        except IqTimeout:
            self.report("unknown IQ refused", False, "timeout")

    async def on_start(self, _event):
        try:
            self.send_presence()
            if not self.is_secure():
                raise RuntimeError("stream is not encrypted")
            if self.args.quick:
                await self.run_echoes(ECHO_CASES[:1], self.echo_bare)
            else:
                ignored = await self.run_ignored()
                await self.run_iqs()
                await self.run_echoes(ECHO_CASES, self.echo_bare)
                await self.run_echoes([("full-jid", "chat", "to the full JID")],
                                      self.echo_full)
                await self.check_ignored(ignored)
                # Still alive after what it ignored?
                await self.run_echoes([("after-ignored", "chat", "still there?")],
                                      self.echo_bare)
            if not self.done.done():
                self.done.set_result(all(self.results))
        except Exception as e:  # report, never hang
            if not self.done.done():
                self.done.set_exception(e)

    def is_secure(self):
        transport = self.transport
        return transport is not None and \
            transport.get_extra_info("ssl_object") is not None


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5222)
    p.add_argument("--jid", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--cafile", required=True,
                   help="CA (or self-signed) certificate to verify the server")
    p.add_argument("--echo-jid", default="echobot@localhost/bot",
                   help="the echo bot's full JID (messages go to its bare JID)")
    p.add_argument("--timeout", type=float, default=10,
                   help="seconds to wait for each echo or IQ answer")
    p.add_argument("--silence", type=float, default=2,
                   help="seconds to wait before concluding no answer came")
    p.add_argument("--total", type=float, default=60,
                   help="seconds for the whole run")
    p.add_argument("--quick", action="store_true",
                   help="only one echo (is the bot alive?)")
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args()
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.CRITICAL,
                        format="%(levelname)-8s %(message)s")

    xmpp = EchoTester(args)
    xmpp.connect((args.host, args.port), force_starttls=True)
    try:
        ok = xmpp.loop.run_until_complete(
            asyncio.wait_for(asyncio.shield(xmpp.done), args.total))
    except asyncio.TimeoutError:
        print(f"FAIL - run did not finish within {args.total} s", flush=True)
        ok = False
    except Exception as e:
        print(f"FAIL - {e}", flush=True)
        ok = False
    if not xmpp.done.done():
        xmpp.done.cancel()
    try:
        xmpp.loop.run_until_complete(
            asyncio.wait_for(xmpp.disconnect(wait=1), 3))
    except Exception:
        pass
    n = len(xmpp.results)
    passed = sum(1 for r in xmpp.results if r)
    print(f"slix_echo: {passed}/{n} cases passed", flush=True)
    return 0 if ok and n and passed == n else 1


if __name__ == "__main__":
    sys.exit(main())
