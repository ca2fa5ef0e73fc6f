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

import asyncio
import sys
import time

import slixmpp
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

import slixcommon

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
    ("big-64KiB", "chat", None),  # big_body(65536)
    ("type-normal", "normal", "a message of type normal"),
    ("no-type", None, "a message without a type attribute"),
]


class EchoTester(slixcommon.EchoTester):
    CASES = ECHO_CASES
    BIG = 65536
    ID_PREFIX = "mb"
    NAME_JID_KIND = True


class Observer(slixcommon.Client):
    def __init__(self, args):
        super().__init__(args, plugins=("xep_0030", "xep_0045"))
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
    p = slixcommon.parser(__doc__, tls_required=False)
    p.add_argument("mode", choices=("echo", "observe"))
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
    args = slixcommon.parse_args(p)
    xmpp = (EchoTester if args.mode == "echo" else Observer)(args)
    return xmpp.run_checks_for(
        args.total, f"slix_modbots {args.mode}: {{passed}}/{{n}} checks passed")


if __name__ == "__main__":
    sys.exit(main())
