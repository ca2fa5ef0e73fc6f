#!/usr/bin/python3
"""Counts echo bots' answers across a server failure, from an independent
client (slixmpp): sends --count numbered chat messages, --rate a second,
to --bots echo bots (--echo-jid, a pattern with one %d, taken in turn),
and sends a message again, with the same number, when its answer has not
come within --retry-after seconds (as a user would), until every one has
come back or --total runs out.

When the file --mark appears (the test creates it as it kills a server),
the messages sent and not yet answered at that moment are the ones in
flight: what became of them is in the summary.

Prints a progress file (--progress: how many were sent so far) and one
JSON object as its last line: {"sent": N, "answered": N, "missing": N,
"retried": N (messages sent again), "duplicates": N (answers beyond the
first), "in_flight": N (unanswered when --mark appeared; -1 if it never
did), "in_flight_answered": N (of those, answered without being sent
again), "in_flight_retried": N (answered after being sent again),
"first_missing": [...], "seconds": S}. Exit 0 only if every message came
back. STARTTLS verified against --cafile. Run it with Debian's
/usr/bin/python3 (slixmpp).

  slix_failover.py --port 5222 --jid tester@localhost --password pw \\
      --cafile certs/localhost.crt --echo-jid 'echo%d@bots.localhost' \\
      --bots 20 --mark killed
"""

import asyncio
import json
import os
import sys
import time

import slixcommon

PREFIX = "failover "


class Sender(slixcommon.Client):
    def __init__(self, args):
        super().__init__(args)
        self.t0 = time.monotonic()
        self.sent_at = {}   # number -> when it was last sent
        self.answers = {}   # number -> answers received
        self.retried = set()
        self.in_flight = None  # the numbers unanswered when --mark appeared
        self.all_back = asyncio.Event()
        self.add_event_handler("message", self.on_message)

    def target(self, n):
        return self.args.echo_jid % (n % self.args.bots)

    def on_message(self, msg):
        body = msg["body"]
        if not body.startswith(PREFIX):
            return
        try:
            n = int(body[len(PREFIX):])
        except ValueError:
            return
        if n not in self.sent_at or \
                msg["from"].bare != self.target(n).split("/")[0]:
            return
        self.answers[n] = self.answers.get(n, 0) + 1
        if len(self.answers) == self.args.count:
            self.all_back.set()

    def send_number(self, n):
        self.sent_at[n] = time.monotonic()
        self.send_message(mto=self.target(n), mbody=f"{PREFIX}{n}",
                          mtype="chat")

    def watch_mark(self):
        if self.in_flight is None and self.args.mark and \
                os.path.exists(self.args.mark):
            self.in_flight = {n for n in self.sent_at if n not in self.answers}

    def retry_due(self):
        now = time.monotonic()
        for n, t in list(self.sent_at.items()):
            if n not in self.answers and now - t >= self.args.retry_after:
                self.retried.add(n)
                self.send_number(n)

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
            self.send_number(i)
            self.watch_mark()
            if i % 10 == 0:
                self.progress(i)
                self.retry_due()
            # Paced against the clock, so a slow loop does not stretch it.
            delay = start + (i + 1) * gap - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        self.progress(self.args.count)
        while not self.all_back.is_set():
            self.watch_mark()
            self.retry_due()
            try:
                await asyncio.wait_for(self.all_back.wait(), 0.2)
            except asyncio.TimeoutError:
                pass
        # Late answers to messages sent twice may still be on their way.
        await asyncio.sleep(self.args.settle)
        self.results.append(True)

    def summary(self):
        missing = [n for n in range(self.args.count) if n not in self.answers]
        flight = self.in_flight
        return {
            "sent": len(self.sent_at),
            "answered": len(self.answers),
            "missing": len(missing),
            "retried": len(self.retried),
            "duplicates": sum(c - 1 for c in self.answers.values()),
            "in_flight": -1 if flight is None else len(flight),
            "in_flight_answered": 0 if flight is None else
            sum(1 for n in flight if n in self.answers and
                n not in self.retried),
            "in_flight_retried": 0 if flight is None else
            sum(1 for n in flight if n in self.answers and n in self.retried),
            "first_missing": missing[:10],
            "seconds": round(time.monotonic() - self.t0, 1)}


def main():
    p = slixcommon.parser(__doc__)
    p.add_argument("--echo-jid", required=True,
                   help="the echo bots' JIDs, a pattern with one %%d")
    p.add_argument("--bots", type=int, default=1)
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--rate", type=float, default=50,
                   help="messages sent a second")
    p.add_argument("--retry-after", type=float, default=5,
                   help="seconds without an answer before sending again")
    p.add_argument("--settle", type=float, default=2,
                   help="seconds to wait for late duplicates")
    p.add_argument("--mark", help="file whose appearance marks the failure")
    p.add_argument("--progress", help="file that gets the number sent")
    p.add_argument("--total", type=float, default=300,
                   help="seconds for the whole run")
    args = slixcommon.parse_args(p)
    c = Sender(args)
    try:
        c.run_for(args.total)
        ran = True
    except Exception as e:  # reported in the JSON, never a hang
        print(f"run failed: {e}", flush=True)
        ran = False
    s = c.summary()
    s["ran"] = ran
    print(json.dumps(s), flush=True)
    return 0 if ran and s["missing"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
