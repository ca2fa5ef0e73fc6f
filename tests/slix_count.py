#!/usr/bin/python3
"""Counts an xmppbots echo bot's answers from an independent client
(slixmpp): sends --count numbered chat messages to --echo-jid, --rate a
second, and checks that every one comes back exactly once and in order,
however often the bot's own connection is cut meanwhile.

Prints a progress file (--progress: how many were sent so far) for the
script that cuts connections, and one JSON object as its last line:
{"sent": N, "echoed": N, "missing": N, "duplicates": N, "out_of_order": N,
"first_missing": [...], "seconds": S}. Exit 0 only if every message came
back once, in order. STARTTLS verified against --cafile. Run it with
Debian's /usr/bin/python3 (slixmpp).

  slix_count.py --port 5222 --jid tester@localhost --password pw \\
      --cafile certs/localhost.crt --echo-jid echobot@localhost/bot
"""

import asyncio
import json
import os
import sys
import time

import slixmpp

import slixcommon

PREFIX = "count "


class Counter(slixcommon.Client):
    def __init__(self, args):
        super().__init__(args)
        self.echo = slixmpp.JID(args.echo_jid)
        self.got = []  # the numbers echoed, in arrival order
        self.all_back = asyncio.Event()
        self.t0 = time.monotonic()
        self.add_event_handler("message", self.on_message)

    def on_message(self, msg):
        body = msg["body"]
        if msg["from"].bare != self.echo.bare or not body.startswith(PREFIX):
            return
        try:
            self.got.append(int(body[len(PREFIX):]))
        except ValueError:
            return
        if len(set(self.got)) == self.args.count:
            self.all_back.set()

    def progress(self, sent):
        if not self.args.progress:
            return
        tmp = self.args.progress + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{sent}\n")
        os.replace(tmp, self.args.progress)

    async def run_checks(self):
        gap = 1.0 / self.args.rate
        start = time.monotonic()
        for i in range(self.args.count):
            self.send_message(mto=self.echo, mbody=f"{PREFIX}{i}",
                              mtype="chat")
            if i % 10 == 0:
                self.progress(i)
            # Paced against the clock, so a slow loop does not stretch it.
            delay = start + (i + 1) * gap - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        self.progress(self.args.count)
        try:
            await asyncio.wait_for(self.all_back.wait(), self.args.wait)
        except asyncio.TimeoutError:
            pass
        # Duplicates may still be on their way.
        await asyncio.sleep(self.args.settle)
        self.results.append(True)

    def summary(self):
        seen = set()
        dups = out_of_order = 0
        last = -1
        for n in self.got:
            if n in seen:
                dups += 1
                continue
            seen.add(n)
            if n < last:
                out_of_order += 1
            last = max(last, n)
        missing = [n for n in range(self.args.count) if n not in seen]
        return {"sent": self.args.count, "echoed": len(seen),
                "missing": len(missing), "duplicates": dups,
                "out_of_order": out_of_order,
                "first_missing": missing[:10],
                "seconds": round(time.monotonic() - self.t0, 1)}


def main():
    p = slixcommon.parser(__doc__)
    p.add_argument("--echo-jid", default="echobot@localhost/bot")
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--rate", type=float, default=50,
                   help="messages sent a second")
    p.add_argument("--wait", type=float, default=60,
                   help="seconds to wait for the last echoes")
    p.add_argument("--settle", type=float, default=2,
                   help="seconds to wait for late duplicates")
    p.add_argument("--progress", help="file that gets the number sent")
    p.add_argument("--total", type=float, default=300,
                   help="seconds for the whole run")
    args = slixcommon.parse_args(p)
    c = Counter(args)
    try:
        c.run_for(args.total)
        ran = True
    except Exception as e:  # reported in the JSON, never a hang
        print(f"run failed: {e}", flush=True)
        ran = False
    s = c.summary()
    s["ran"] = ran
    print(json.dumps(s), flush=True)
    good = ran and s["missing"] == 0 and s["duplicates"] == 0 and \
        s["out_of_order"] == 0
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
