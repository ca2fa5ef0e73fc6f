# MUC delivery probe for bench/compare: joins a room as an ordinary client,
# says "probe SEQ" every --every seconds and measures how long the room takes
# to reflect each probe back; also counts the other groupchat messages heard.
# On exit (--duration elapsed, SIGTERM or SIGINT) it stops probing, waits
# --grace seconds for probes still in flight and prints one JSON line:
#   {"joined": true, "join_s": .., "sent": .., "reflected": .., "delivery_pct": ..,
#    "delay_p50_ms": .., "delay_p99_ms": .., "delay_max_ms": .., "others": ..}
#   /usr/bin/python3 bench/muc_probe.py --jid probe@localhost --password pw \
#       --host 127.0.0.1 --port 5222 [--room bot_room_0@conference.localhost]
#       [--nick probe] [--every 0.5] [--duration S] [--grace 5] [--join-timeout 60]
import argparse
import asyncio
import contextlib
import json
import signal
import sys
import time

import slixmpp


def percentile(sorted_values, p):
    if not sorted_values:
        return None
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * p))]


class Probe(slixmpp.ClientXMPP):
    def __init__(self, args):
        super().__init__(args.jid, args.password)
        self.args = args
        self.register_plugin("xep_0045")
        self.sent = {}  # seq -> monotonic send time
        self.delays = []
        self.others = 0
        self.join_s = None
        self.stop = asyncio.Event()
        self.add_event_handler("groupchat_message", self.on_groupchat)

    def on_groupchat(self, msg):
        body = msg["body"]
        if msg["mucnick"] == self.args.nick and body.startswith("probe "):
            t0 = self.sent.get(int(body.split()[1]))
            if t0 is not None:
                self.delays.append(time.monotonic() - t0)
        else:
            self.others += 1

    async def run(self):
        a, t0 = self.args, time.monotonic()
        await self.wait_until("session_start", a.join_timeout)
        self.send_presence()
        # slixmpp 1.8.3's join_muc_wait prints to stdout: keep our JSON clean.
        with contextlib.redirect_stdout(sys.stderr):
            await self.plugin["xep_0045"].join_muc_wait(
                a.room, a.nick, maxstanzas=0, timeout=a.join_timeout)
        self.join_s = time.monotonic() - t0
        seq = 0
        while not self.stop.is_set():
            self.sent[seq] = time.monotonic()
            self.send_message(mto=a.room, mbody="probe %d" % seq, mtype="groupchat")
            seq += 1
            try:
                await asyncio.wait_for(self.stop.wait(), a.every)
            except asyncio.TimeoutError:
                pass
        end = time.monotonic() + a.grace
        while len(self.delays) < len(self.sent) and time.monotonic() < end:
            await asyncio.sleep(0.1)

    def result(self):
        d = sorted(self.delays)
        ms = lambda v: None if v is None else round(v * 1000, 1)
        return {
            "joined": self.join_s is not None,
            "join_s": None if self.join_s is None else round(self.join_s, 2),
            "sent": len(self.sent), "reflected": len(d),
            "delivery_pct": round(100 * len(d) / len(self.sent), 2) if self.sent else 0,
            "delay_p50_ms": ms(percentile(d, 0.5)),
            "delay_p99_ms": ms(percentile(d, 0.99)),
            "delay_max_ms": ms(d[-1] if d else None),
            "others": self.others,
        }


async def main(args):
    probe = Probe(args)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, probe.stop.set)
    if args.duration:
        loop.call_later(args.duration, probe.stop.set)
    probe.connect((args.host, args.port), disable_starttls=True)
    task = asyncio.ensure_future(probe.run())
    await asyncio.wait([task, asyncio.ensure_future(probe.stop.wait())],
                       return_when=asyncio.FIRST_COMPLETED)
    if task.done() or probe.join_s is not None:
        try:
            await task
        except (asyncio.TimeoutError, slixmpp.exceptions.XMPPError):
            pass
    else:
        task.cancel()
    print(json.dumps(probe.result()), flush=True)
    probe.disconnect()


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--jid", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5222)
    p.add_argument("--room", default="bot_room_0@conference.localhost")
    p.add_argument("--nick", default="probe")
    p.add_argument("--every", type=float, default=0.5)
    p.add_argument("--duration", type=float, default=0)
    p.add_argument("--grace", type=float, default=5)
    p.add_argument("--join-timeout", type=float, default=60)
    asyncio.run(main(p.parse_args()))
