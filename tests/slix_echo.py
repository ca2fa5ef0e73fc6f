#!/usr/bin/python3
"""Checks an xmppbots echo bot (a client bot or an in-server one) from an
independent client (slixmpp).

Connects with STARTTLS, the server certificate verified against --cafile
(without --cafile: plain TCP, for test servers that allow PLAIN without
TLS), sends tricky message bodies to the echo bot's bare and full JID and
checks that each echo is exact (body, id, thread, type), that groupchat,
headline and body-less chat-state messages are not answered, and that the
bot answers a ping and refuses an unknown IQ with service-unavailable. One
line per case; exit 0 only if every case passed. Run it with Debian's
/usr/bin/python3 (slixmpp).

  slix_echo.py --port 5222 --jid tester@localhost --password pw \\
      --cafile certs/localhost.crt --echo-jid echobot@localhost/bot
"""

import asyncio
import secrets
import sys
import xml.etree.ElementTree as ET

import slixmpp
from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

import slixcommon

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
    ("big", "chat", None),  # big_body(--big)
    ("type-normal", "normal", "a message of type normal"),
    ("no-type", None, "a message without a type attribute"),
]


def big_body(size):
    """About SIZE bytes of mixed 1-4 byte UTF-8 and XML specials."""
    unit = "0123456789 abcdef <&>\"' é ß 中 \U0001F600\n"
    body = unit * (size // len(unit.encode()) + 1)
    while len(body.encode()) > size:
        body = body[:-1]
    return body


class EchoTester(slixcommon.Client):
    """Checks an echo bot (args.echo_jid; its resource is "bot" if the JID
    has none): messages of each of CASES to its bare JID, and one to its
    full JID, come back exact (body, thread, id, type, from its full JID,
    to us); groupchat, headline and body-less chat-state messages get no
    answer within args.silence; a ping gets a result and an unknown IQ
    cancel/service-unavailable. With args.quick, only the first case. Over
    TLS (args.cafile) the stream must be encrypted. args.timeout bounds
    each answer."""

    # (case name, message type or None for no type attribute, body or None
    # for big_body(args.big))
    CASES = ECHO_CASES
    FULL_JID_BODY = "to the full JID \U0001F600"

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
        msg["id"] = f"xb-{name}-{secrets.token_hex(4)}"
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
        # A server may deliver type='normal' without the attribute (the
        # same meaning, RFC 6121 5.2.2), and the bot then echoes none.
        dropped = (self.args.normal_without_type
                   and got.xml.get("type") is None
                   and sent.xml.get("type") == "normal")
        if got.xml.get("type") != sent.xml.get("type") and not dropped:
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
                body = big_body(self.args.big)
            thread = f"thread-{name}-{secrets.token_hex(3)}"
            sent.append((name, self.send_case(to, mtype, body, thread,
                                              name=name)))
        for name, msg in sent:
            check = f"echo {name}"
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


def main():
    p = slixcommon.parser(__doc__, tls_required=False)
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
    p.add_argument("--big", type=int, default=102400,
                   help="bytes of the big body case")
    p.add_argument("--normal-without-type", action="store_true",
                   help="accept the echo of a type='normal' message without "
                   "a type attribute (the server delivers it so: ejabberd)")
    args = slixcommon.parse_args(p)
    return EchoTester(args).run_checks_for(
        args.total, "slix_echo: {passed}/{n} cases passed")


if __name__ == "__main__":
    sys.exit(main())
