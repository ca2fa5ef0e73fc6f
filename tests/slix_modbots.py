#!/usr/bin/python3
"""Checks mod_bots' in-server bots from an independent client (slixmpp).

  echo     sends tricky bodies to the in-server echo bot (bare and full
           JID) and checks that each echo is byte-exact (body, thread, id,
           type), that groupchat, headline and body-less chat states get no
           answer, that a ping gets a result and an unknown IQ
           cancel/service-unavailable.
  observe  joins a MUC room and waits until the in-server jumper bots have
           been seen joining, speaking and leaving (--expect-*).

One line per check ("ok - ..." / "FAIL - ..."), a summary line last; exit
status 0 only if everything passed. Plain TCP (the test server allows
PLAIN without TLS) unless --cafile is given. Run it with Debian's
/usr/bin/python3, which has slixmpp.

  slix_modbots.py echo --port 5222 --jid tester@localhost --password pw
  slix_modbots.py observe --port 5222 --jid observer@localhost --password pw \\
      --room bot_room_0@conference.localhost --prefix jumper_ \\
      --expect-joins 2 --expect-messages 3 --expect-leaves 1
"""

import argparse
import asyncio
import logging
import secrets
import sys
import time
import xml.etree.ElementTree as ET

import slixmpp
from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

UNKNOWN_NS = "urn:xmppbots:test:no-such-protocol"
MUC_USER = "{http://jabber.org/protocol/muc#user}"

# (case name, message type or None for no type attribute, body)
ECHO_CASES = [
    ("ascii", "chat", "Hello, in-server echo bot! 0123456789 ~!@#$%^*()_+-={}|"),
    ("xml-specials", "chat", "< & ' \" ]]> &amp; <b>not a tag</b> &#x41; ]]>"),
    ("utf8-4byte", "chat", "emoji \U0001F600\U0001F389\U0001F44D\U0001F3FD "
     "\U0001F468\u200D\U0001F469\u200D\U0001F467 \U00010348 \U0001D11E"),
    ("scripts", "chat", "Ελληνικά Русский 中文 日本語 한국어 العربية עברית "
     "हिन्दी ไทย café naïve"),
    ("whitespace", "chat", "  \n\t leading and trailing whitespace \n\n\t  "),
    ("big-64KiB", "chat", None),  # filled in below
    ("type-normal", "normal", "a message of type normal"),
    ("no-type", None, "a message without a type attribute"),
]


def big_body():
    """About 64 KiB of mixed 1-4 byte UTF-8 and XML specials."""
    unit = "0123456789 abcdef <&>\"' é ß 中 \U0001F600\n"
    body = unit * (65536 // len(unit.encode()) + 1)
    while len(body.encode()) > 65536:
        body = body[:-1]
    return body


class Client(slixmpp.ClientXMPP):
    """Common connection handling: failures end the run with a reason."""

    def __init__(self, args):
        super().__init__(args.jid, args.password)
        self.args = args
        if args.cafile:
            self.ca_certs = args.cafile
        else:
            self["feature_mechanisms"].unencrypted_plain = True
        self.done = asyncio.get_event_loop().create_future()
        self.results = []
        self.add_event_handler("session_start", self.on_start)
        for event, what in (("failed_auth", "authentication failed"),
                            ("connection_failed", "connection failed"),
                            ("disconnected", "disconnected")):
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

    async def on_start(self, _event):
        try:
            self.send_presence()
            await self.run_checks()
            if not self.done.done():
                self.done.set_result(all(self.results))
        except Exception as e:  # report, never hang
            if not self.done.done():
                self.done.set_exception(e)


class EchoTester(Client):
    def __init__(self, args):
        super().__init__(args)
        self.register_plugin("xep_0030")
        self.register_plugin("xep_0085")
        self.register_plugin("xep_0199")
        self.echo_bare = slixmpp.JID(args.echo_jid).bare
        self.echo_full = args.echo_jid
        self.waiters = {}
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
        msg["id"] = f"mb-{name}-{secrets.token_hex(4)}"
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
            self.report(f"echo {name} (to {slixmpp.JID(to).resource and 'full' or 'bare'} JID)",
                        not detail, detail)

    def send_ignored(self):
        ids = {}
        ids["groupchat not answered"] = self.send_case(
            self.echo_full, "groupchat", "groupchat body", name="gc")["id"]
        ids["headline not answered"] = self.send_case(
            self.echo_full, "headline", "headline body", name="hl")["id"]

        def composing(m):
            m["chat_state"] = "composing"
        ids["chat state (no body) not answered"] = self.send_case(
            self.echo_full, "chat", None, extra=composing, name="cs")["id"]
        return ids

    async def run_iqs(self):
        try:
            await self.plugin["xep_0199"].send_ping(self.echo_full,
                                                    timeout=self.args.timeout)
            self.report("ping answered with a result", True)
        except IqError as e:
            self.report("ping answered with a result", False,
                        f"error {e.iq['error']['condition']}")
            return
        except IqTimeout:
            self.report("ping answered with a result", False, "timeout")
            return
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
        if self.args.quick:
            await self.run_echoes(ECHO_CASES[:1], self.echo_bare)
            return
        ignored = self.send_ignored()
        await self.run_iqs()
        await self.run_echoes(ECHO_CASES, self.echo_bare)
        await self.run_echoes([("full-jid", "chat", "to the full JID \U0001F600")],
                              self.echo_full)
        await asyncio.sleep(self.args.silence)
        for name, mid in ignored.items():
            fut = self.waiters[mid]
            self.report(name, not fut.done(),
                        f"got {fut.result()}" if fut.done() else "")
        await self.run_echoes([("after-ignored", "chat", "still there?")],
                              self.echo_bare)


class Observer(Client):
    def __init__(self, args):
        super().__init__(args)
        self.register_plugin("xep_0030")
        self.register_plugin("xep_0045")
        self.room = slixmpp.JID(args.room).bare
        self.t0 = time.monotonic()
        self.in_room = False
        self.present = set()
        self.joined = set()
        self.spoke = set()
        self.joins = self.messages = self.leaves = 0
        self.met = asyncio.get_event_loop().create_future()
        self.register_handler(Callback(
            "room presence", MatchXPath("{jabber:client}presence"),
            self.on_presence))
        self.register_handler(Callback(
            "room message", MatchXPath("{jabber:client}message"),
            self.on_message))

    def log(self, text):
        print(f"# +{time.monotonic() - self.t0:7.3f} {text}", flush=True)

    def counted(self, nick):
        return nick != self.args.nick and nick.startswith(self.args.prefix)

    def on_presence(self, pres):
        if pres["from"].bare != self.room:
            return
        nick = pres["from"].resource
        codes = {s.get("code") for s in pres.xml.iter(MUC_USER + "status")}
        if "110" in codes:
            self.in_room = pres["type"] != "unavailable"
            return
        if pres["type"] == "unavailable":
            self.present.discard(nick)
            if self.counted(nick) and self.in_room:
                self.leaves += 1
                self.log(f"leave   {nick}")
        elif pres["type"] != "error" and nick not in self.present:
            self.present.add(nick)
            if self.in_room and self.counted(nick):
                self.joins += 1
                self.joined.add(nick)
                self.log(f"join    {nick}")
        self.check()

    def on_message(self, msg):
        if msg["from"].bare != self.room or msg["type"] != "groupchat" \
                or not msg["body"]:
            return
        nick = msg["from"].resource
        if self.counted(nick):
            self.messages += 1
            self.spoke.add(nick)
            self.log(f"message {nick}: {msg['body']}")
        self.check()

    def check(self):
        a = self.args
        if (len(self.joined) >= a.expect_joins and self.messages >= a.expect_messages
                and self.leaves >= a.expect_leaves and not self.met.done()):
            self.met.set_result(True)

    async def run_checks(self):
        await self.plugin["xep_0045"].join_muc_wait(
            self.room, self.args.nick, maxstanzas=0, timeout=10)
        try:
            await asyncio.wait_for(asyncio.shield(self.met), self.args.seconds)
        except asyncio.TimeoutError:
            pass
        a = self.args
        self.report(f"jumpers seen joining ({len(self.joined)} nicks, want {a.expect_joins})",
                    len(self.joined) >= a.expect_joins, ", ".join(sorted(self.joined)))
        self.report(f"jumpers seen speaking ({self.messages} messages from "
                    f"{len(self.spoke)} nicks, want {a.expect_messages})",
                    self.messages >= a.expect_messages)
        self.report(f"jumpers seen leaving ({self.leaves}, want {a.expect_leaves})",
                    self.leaves >= a.expect_leaves)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("mode", choices=("echo", "observe"))
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5222)
    p.add_argument("--jid", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--cafile", help="use STARTTLS, verifying the server with this CA")
    p.add_argument("--echo-jid", default="echobot@localhost/bot",
                   help="the echo bot's full JID")
    p.add_argument("--quick", action="store_true", help="echo: one echo only")
    p.add_argument("--timeout", type=float, default=10)
    p.add_argument("--silence", type=float, default=1.5,
                   help="echo: seconds to wait before concluding no answer came")
    p.add_argument("--room", default="bot_room_0@conference.localhost")
    p.add_argument("--nick", default="observer")
    p.add_argument("--prefix", default="jumper_", help="nicks of the bots")
    p.add_argument("--seconds", type=float, default=20,
                   help="observe: how long to wait for the expectations")
    p.add_argument("--expect-joins", type=int, default=1)
    p.add_argument("--expect-messages", type=int, default=1)
    p.add_argument("--expect-leaves", type=int, default=1)
    p.add_argument("--total", type=float, default=60, help="bound on the whole run")
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args()
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.CRITICAL,
                        format="%(levelname)-8s %(message)s")

    xmpp = (EchoTester if args.mode == "echo" else Observer)(args)
    if args.cafile:
        xmpp.connect((args.host, args.port), force_starttls=True)
    else:
        xmpp.connect((args.host, args.port), force_starttls=False,
                     disable_starttls=True)
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
        xmpp.loop.run_until_complete(asyncio.wait_for(xmpp.disconnect(wait=1), 3))
    except Exception:
        pass
    n = len(xmpp.results)
    passed = sum(1 for r in xmpp.results if r)
    print(f"slix_modbots {args.mode}: {passed}/{n} checks passed", flush=True)
    return 0 if ok and n and passed == n else 1


if __name__ == "__main__":
    sys.exit(main())
