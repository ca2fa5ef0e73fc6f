#!/usr/bin/python3
"""Watches a MUC room from an independent client (slixmpp) and counts what
the xmppbots jumper bots do there: joins, groupchat messages, leaves.

Prints every event with a timestamp as it happens. Without --expect-*
options it watches for --seconds and exits 0; with them it exits 0 as soon
as every expectation is met, or 1 if they are not met within --seconds.
STARTTLS verified against --cafile; without --cafile, plain TCP (test
servers that allow PLAIN without TLS). Run it with Debian's
/usr/bin/python3 (slixmpp).

  slix_observer.py --port 5222 --jid observer@localhost --password pw \\
      --cafile certs/localhost.crt --room bot_room_0@conference.localhost
"""

import asyncio
import json
import sys
import time

import slixmpp
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

import slixcommon

MUC_USER = "{http://jabber.org/protocol/muc#user}"


class Observer(slixcommon.Client):
    def __init__(self, args):
        super().__init__(args, plugins=("xep_0030", "xep_0045"))
        self.room = slixmpp.JID(args.room).bare
        self.t0 = time.monotonic()
        self.in_room = False          # our self-presence arrived
        self.present = set()          # nicks now in the room (not ours)
        self.initial = set()          # occupants already there when we joined
        self.joined_nicks = set()     # nicks seen joining while we watched
        self.joins = self.messages = self.leaves = 0
        self.message_nicks = set()
        self.register_handler(Callback(
            "room presence", MatchXPath("{jabber:client}presence"),
            self.on_presence))
        self.register_handler(Callback(
            "room message", MatchXPath("{jabber:client}message"),
            self.on_message))

    def log(self, text):
        now = time.time()
        stamp = time.strftime("%H:%M:%S", time.localtime(now))
        print(f"{stamp}.{int(now * 1000) % 1000:03d} "
              f"+{time.monotonic() - self.t0:7.3f} {text}", flush=True)

    def counted(self, nick):
        return nick != self.args.nick and nick.startswith(self.args.prefix)

    def on_presence(self, pres):
        if pres["from"].bare != self.room:
            return
        nick = pres["from"].resource
        if not nick:
            # From the room itself, not an occupant: ejabberd sends the
            # room's own presence (its entity capabilities, XEP-0115) to
            # everyone who joins.
            return
        if pres["type"] == "error":
            self.log(f"error presence for {nick}: "
                     f"{pres['error']['condition']}")
            return
        statuses = {s.get("code") for s in pres.xml.iter(MUC_USER + "status")}
        if "110" in statuses:
            if pres["type"] != "unavailable":
                self.in_room = True
                self.log(f"joined {self.room} as {nick} "
                         f"(occupants: {', '.join(sorted(self.initial)) or 'none'})")
            else:
                self.log(f"we left {self.room}")
            return
        if pres["type"] == "unavailable":
            self.present.discard(nick)
            if self.counted(nick):
                self.leaves += 1
            self.log(f"leave   {nick}")
        elif nick not in self.present:
            self.present.add(nick)
            if not self.in_room:
                self.initial.add(nick)
                return
            if self.counted(nick):
                self.joins += 1
                self.joined_nicks.add(nick)
            self.log(f"join    {nick}")
        self.check()

    def on_message(self, msg):
        if msg["from"].bare != self.room or msg["type"] != "groupchat":
            return
        nick = msg["from"].resource
        if not msg["body"]:
            return
        if self.counted(nick):
            self.messages += 1
            self.message_nicks.add(nick)
        self.log(f"message {nick}: {msg['body']}")
        self.check()

    def expecting(self):
        a = self.args
        return a.expect_joins or a.expect_messages or a.expect_leaves

    def met(self):
        a = self.args
        return (len(self.joined_nicks) >= a.expect_joins and
                self.messages >= a.expect_messages and
                self.leaves >= a.expect_leaves)

    def check(self):
        if self.expecting() and self.met() and not self.done.done():
            self.done.set_result(True)

    async def on_start(self, _event):
        # Not a list of checks: done when the expectations are met.
        try:
            self.send_presence()
            self.log(f"online as {self.boundjid}")
            await self.plugin["xep_0045"].join_muc_wait(
                self.room, self.args.nick, maxstanzas=0, timeout=10)
            self.check()
        except Exception as e:
            if not self.done.done():
                self.done.set_exception(RuntimeError(f"cannot join: {e!r}"))

    def summary(self):
        return (f"distinct nicks joined {len(self.joined_nicks)} "
                f"({', '.join(sorted(self.joined_nicks))}), joins {self.joins}, "
                f"groupchat messages {self.messages} from "
                f"{len(self.message_nicks)} nicks, leaves {self.leaves}")


def main():
    p = slixcommon.parser(__doc__, tls_required=False)
    p.add_argument("--room", default="bot_room_0@conference.localhost")
    p.add_argument("--nick", default="observer")
    p.add_argument("--prefix", default="",
                   help="count only nicks starting with this (e.g. jumper)")
    p.add_argument("--seconds", type=float, default=20,
                   help="how long to watch (at most, with --expect-*)")
    p.add_argument("--expect-joins", type=int, default=0, metavar="N",
                   help="N distinct nicks must join")
    p.add_argument("--expect-messages", type=int, default=0, metavar="N")
    p.add_argument("--expect-leaves", type=int, default=0, metavar="N")
    p.add_argument("--json", metavar="FILE",
                   help="write the counts there as JSON at the end")
    args = slixcommon.parse_args(p)

    xmpp = Observer(args)
    rc = 0
    try:
        xmpp.run_for(args.seconds)
    except asyncio.TimeoutError:
        if xmpp.expecting():
            rc = 1
            xmpp.log(f"FAIL - expectations not met within {args.seconds} s")
        elif not xmpp.in_room:
            rc = 1
            xmpp.log("FAIL - never joined the room")
    except Exception as e:
        rc = 1
        xmpp.log(f"FAIL - {e}")
    print(f"slix_observer: {xmpp.summary()}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"in_room": xmpp.in_room, "joins": xmpp.joins,
                       "leaves": xmpp.leaves, "messages": xmpp.messages,
                       "message_nicks": sorted(xmpp.message_nicks),
                       "initial": sorted(xmpp.initial),
                       "present": sorted(xmpp.present)}, f)
    return rc


if __name__ == "__main__":
    sys.exit(main())
