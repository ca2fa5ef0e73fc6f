# Report of bench/compare: reads echo.csv, scale.csv, breaking.csv,
# samples.csv, machine.md and tuning.txt from a results directory, checks
# the data, draws the plots with gnuplot and writes report.md, naming the
# server (Prosody or ejabberd) the run used. Exit status 1 when a
# consistency check fails or an expected file is missing.
#   python3 report.py DIR --duration S --server prosody|ejabberd
#       --server-name "NAME VERSION" --cpu-cores N [--cpu-break PCT ...]   (see bench/compare)
import argparse
import csv
import functools
import os
import subprocess
import sys
from collections import defaultdict

LABELS = {
    "mod_bots": "xmppbots in-server (mod_bots)",
    "mod_bots_direct": "xmppbots in-server (mod_bots, bots_muc_direct)",
    "cli": "xmppbots client bots (CLI)",
    "cli_nosm": "xmppbots client bots (CLI, --sm off)",
    "component": "xmppbots component bots (CLI, XEP-0114)",
    "strophe": "libstrophe echo bot",
    "slixmpp": "slixmpp echo bot",
    "lua_echo": "mod_lua_echo (Lua in Prosody)",
    "lua_jumper": "mod_lua_jumper (Lua in Prosody)",
}
IN_SERVER = ("mod_bots", "mod_bots_direct", "lua_echo", "lua_jumper")
# Columns that may hold "n/a" (per-process figures of a bot that is not a
# process; the gc of a server that is not Prosody).
ECHO_NA = {"gc", "bot_cpu_s", "bot_us_per_echo", "bot_rss_kb"}
SCALE_NA = {"gc", "bot_rss_kb", "client_bytes_per_bot", "bot_cpu_pct", "probe_p50_ms",
            "probe_p99_ms", "probe_max_ms", "heard_pct"}
# The server's short name (table headers, text), set by main().
SERVER = {"prosody": "Prosody", "ejabberd": "ejabberd"}
S = "Prosody"


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def gc_suffix(gc, short=False):
    """The label's GC part: only Prosody's non-default generational GC shows."""
    return ", gen. GC" if short and gc == "generational" else ", generational GC" if gc == "generational" else ""


def run_of(row):
    """What tells a row's runs apart in check messages: Prosody's GC, else the server."""
    return row["gc"] if row["gc"] != "n/a" else row["server"]


def label(row):
    return LABELS[row["model"]] + gc_suffix(row["gc"])


def mb(kb):
    """kB (a string from the CSV) as MB with one decimal, or n/a."""
    return "n/a" if kb == "n/a" else "%.1f" % (int(kb) / 1024)


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


class Checks:
    def __init__(self):
        self.lines, self.failed = [], 0

    def check(self, ok, what):
        if ok:
            self.lines.append("- ok: " + what)
        else:
            self.failed += 1
            self.lines.append("- **WARNING: check failed: %s**" % what)
            print("WARNING: check failed: " + what, file=sys.stderr)


def check_cells(checks, name, rows, na_ok):
    bad = []
    for i, r in enumerate(rows):
        for k, v in r.items():
            if v is None or v == "" or v.lower() == "nan":
                bad.append("row %d %s empty/NaN" % (i + 1, k))
            elif v == "n/a" and k not in na_ok:
                bad.append("row %d %s n/a" % (i + 1, k))
    checks.check(not bad, "%s: no empty, NaN or unexpected n/a cells %s" % (name, "; ".join(bad[:5])))


def check_echo(checks, echo):
    for r in echo:
        k, m, sent, echoed, lost = (int(r[c]) for c in ("clients", "messages_per_client", "sent", "echoed", "lost"))
        tag = "echo %s %s K=%d" % (run_of(r), r["model"], k)
        checks.check(sent == k * m, "%s: sent %d == K x M = %d" % (tag, sent, k * m))
        checks.check(echoed + lost <= sent, "%s: echoed %d + lost %d <= sent %d" % (tag, echoed, lost, sent))
        checks.check(echoed == sent, "%s: every message echoed (%d of %d)" % (tag, echoed, sent))
        in_server = r["model"] in IN_SERVER
        exited = "bot_exited" in r["server_limits"].split("+")
        checks.check((r["bot_cpu_s"] == "n/a") == (in_server or exited),
                     "%s: echo-bot process CPU present iff the bot is a process (and did not exit)" % tag)
        checks.check(not exited, "%s: the echo bot stayed up (it exited: see its log)" % tag)


def check_scale(checks, scale):
    for r in scale:
        n, online = int(r["bots"]), int(r["online"])
        tag = "scale %s %s N=%d" % (run_of(r), r["model"], n)
        broke = r["breaks"] != "ok"
        checks.check(online <= n, "%s: online %d <= configured %d" % (tag, online, n))
        checks.check(online == n or "online<N" in r["breaks"],
                     "%s: online %d == configured %d (or the row says online<N)" % (tag, online, n))
        checks.check(int(r["probe_reflected"]) <= int(r["probe_sent"]),
                     "%s: probes reflected %s <= sent %s" % (tag, r["probe_reflected"], r["probe_sent"]))
        checks.check(num(r["groupchat_sent_per_s"]) >= 0 and num(r["groupchat_received_per_s"]) >= 0,
                     "%s: groupchat rates >= 0" % tag)
        if not broke:
            checks.check(num(r["groupchat_sent_per_s"]) > 0,
                         "%s: the bots talked in the window (%s/s)" % (tag, r["groupchat_sent_per_s"]))


def check_breaking(checks, scale, breaking, pct, cap):
    """breaking.csv agrees with scale.csv, and each interval was bisected
    down to pct% unless the step cap or the ladder's ends stopped it."""
    models = list(dict.fromkeys((r["gc"], r["model"]) for r in scale))
    have = {(b["gc"], b["model"]): b for b in breaking}
    for key in models:
        tag = "breaking point %s %s" % (key[0] if key[0] != "n/a" else S, key[1])
        b = have.get(key)
        checks.check(b is not None, "%s: a row in breaking.csv" % tag)
        if b is None:
            continue
        rows = {int(r["bots"]): r for r in scale if (r["gc"], r["model"]) == key}
        good, bad = b["last_ok"], b["first_broken"]
        if good != "none":
            checks.check(int(good) in rows and rows[int(good)]["breaks"] == "ok",
                         "%s: the last good N=%s ran and did not break" % (tag, good))
            checks.check(not [n for n, r in rows.items() if n > int(good) and r["breaks"] == "ok"],
                         "%s: no larger N was good" % tag)
        if bad != "none":
            checks.check(int(bad) in rows and rows[int(bad)]["breaks"] != "ok",
                         "%s: the first broken N=%s ran and broke" % (tag, bad))
            checks.check(not [n for n, r in rows.items() if n < int(bad) and r["breaks"] != "ok"],
                         "%s: no smaller N broke" % tag)
        if good != "none" and bad != "none":
            width = 100.0 * (int(bad) - int(good)) / int(good)
            checks.check(width <= pct or int(b["bisect_steps"]) >= cap,
                         "%s: interval %s-%s (%.0f%%) within %s%% or %s bisection steps done (%s)"
                         % (tag, good, bad, width, pct, cap, b["bisect_steps"]))


def interval(b):
    """Breaking point of a breaking.csv row as text."""
    good, bad = b["last_ok"], b["first_broken"]
    if good != "none" and bad != "none":
        return "%s-%s (+%.0f%%)" % (good, bad, 100.0 * (int(bad) - int(good)) / int(good))
    if bad != "none":
        return "< %s (broke at the first step)" % bad
    return "> %s (never broke)" % good


def breaking_table(scale, breaking):
    rows = []
    for b in breaking:
        key = (b["gc"], b["model"])
        s = {int(r["bots"]): r for r in scale if (r["gc"], r["model"]) == key}
        good = s.get(int(b["last_ok"])) if b["last_ok"] != "none" else None
        bad = s.get(int(b["first_broken"])) if b["first_broken"] != "none" else None
        ladder = ", ".join(str(n) for n, r in sorted(s.items()) if r["stage"] == "ladder")
        bis = ", ".join("%s %s" % (r["bots"], "ok" if r["breaks"] == "ok" else "broke")
                        for r in scale if (r["gc"], r["model"]) == key and r["stage"] == "bisect")
        rows.append([LABELS[b["model"]] + gc_suffix(b["gc"], True), interval(b),
                     ladder, bis or "-",
                     ("%s%% CPU, p99 %s ms, %s" % (good["server_cpu_pct"], good["probe_p99_ms"],
                                                  per_delivery(good) + " us/delivery")) if good else "n/a",
                     ("%s (%s%% CPU, p99 %s ms)" % (bad["breaks"], bad["server_cpu_pct"], bad["probe_p99_ms"]))
                     if bad else "n/a"])
    return table(["model", "breaking point: last good - first broken N (width)", "ladder", "bisection steps",
                  "at the last good N: %s, probe, %s CPU per room delivery" % (S, S),
                  "at the first broken N"], rows)


def ratios_table(breaking):
    """Breaking point of each model over each other's: the last good N over
    the last good N, and the range the two intervals allow (a model that
    never broke, or broke at its first step, gives a bound only)."""
    rows, bs = [], breaking
    val = lambda v: None if v == "none" else int(v)
    for a in bs:
        row = [LABELS[a["model"]] + gc_suffix(a["gc"], True)]
        for b in bs:
            ag, ab, bg, bb = val(a["last_ok"]), val(a["first_broken"]), val(b["last_ok"]), val(b["first_broken"])
            lo = ag / bb if ag and bb else None
            hi = ab / bg if ab and bg else None
            if a is b:
                row.append("1")
            elif lo is not None and hi is not None:
                row.append("%.2f (%.2f-%.2f)" % (ag / bg, lo, hi))
            elif lo is not None:
                row.append("> %.2f" % lo)
            elif hi is not None:
                row.append("< %.2f" % hi)
            else:
                row.append("n/a")
        rows.append(row)
    return table(["breaking point of / over"] + [b["model"] for b in bs], rows)


def per_delivery(r):
    """Server CPU (us) per groupchat message delivered to a bot in the window."""
    rcv, cpu = num(r["groupchat_received_per_s"]), num(r["server_cpu_pct"])
    return "%.1f" % (1e4 * cpu / rcv) if rcv and cpu is not None else "n/a"


def plot(outdir, name, title, xlabel, ylabel, series, logy=False):
    """Draws NAME.png; series: list of (title, [(x, y)], dashed)."""
    series = [s for s in series if s[1]]
    if not series:
        return
    data = os.path.join(outdir, name + ".dat")
    with open(data, "w") as f:
        for _, pts, _ in series:
            for x, y in pts:
                f.write("%s %s\n" % (x, y))
            f.write("\n\n")
    plots = ", ".join(
        "'%s' index %d with linespoints lw 2 dt %d title '%s'" % (data, i, 2 if dashed else 1, t)
        for i, (t, _, dashed) in enumerate(series))
    script = "\n".join([
        "set terminal %s size 900,640 noenhanced" % png_terminal(),
        "set output '%s'" % os.path.join(outdir, name + ".png"),
        "set title '%s'" % title, "set xlabel '%s'" % xlabel, "set ylabel '%s'" % ylabel,
        "set logscale x", "set grid", "set key below",
        "set logscale y" if logy else "set yrange [0:*]",
        "plot " + plots, ""])
    subprocess.run(["gnuplot"], input=script, text=True, check=True)
    os.unlink(data)


@functools.lru_cache(maxsize=None)
def png_terminal():
    """pngcairo when this gnuplot has it, else png (asked once)."""
    r = subprocess.run(["gnuplot", "-e", "set terminal"], capture_output=True, text=True)
    return "pngcairo" if "pngcairo" in r.stdout + r.stderr else "png"


def points(rows, key, x, y):
    groups = defaultdict(list)
    for r in rows:
        if num(r[y]) is not None:
            groups[key(r)].append((int(r[x]), num(r[y])))
    for pts in groups.values():
        pts.sort()
    return groups


def headline(echo, scale, breaking):
    rows = []
    limits = {(b["gc"], b["model"]): b for b in breaking}
    # The largest N that every scale model ran: the like-for-like column.
    ns = [set(int(r["bots"]) for r in scale if r["model"] == m) for m in set(r["model"] for r in scale)]
    common = max(set.intersection(*ns)) if ns and set.intersection(*ns) else None
    for key in dict.fromkeys((r["gc"], r["model"]) for r in echo + scale):
        gc, model = key
        e = [r for r in echo if (r["gc"], r["model"]) == key]
        s = [r for r in scale if (r["gc"], r["model"]) == key]
        emax = max(e, key=lambda r: num(r["echoes_per_s"])) if e else None
        ok = [r for r in s if r["breaks"] == "ok"]
        broke = [r for r in s if r["breaks"] != "ok"]
        ok.sort(key=lambda r: int(r["bots"]))
        if not s:
            limit = "n/a (echo only)"
        elif key in limits:
            limit = interval(limits[key])
        elif broke:
            limit = "breaks at %s (%s)" % (broke[0]["bots"], broke[0]["breaks"])
        else:
            limit = "> %s (max tested)" % s[-1]["bots"]
        at = ok[-1] if ok else (s[0] if s else None)
        mem = "%s B at N=%s" % (at["server_bytes_per_bot"], at["bots"]) if at else "n/a"
        delivery = "%s us at N=%s" % (per_delivery(at), at["bots"]) if at else "n/a"
        total = "%s MB server + %s client" % (
            mb(at["server_rss_kb"]),
            mb(at["bot_rss_kb"]) + " MB" if at["bot_rss_kb"] != "n/a" else "0") if at else "n/a"
        if emax:
            cpu = ("%s us, all in %s" % (emax["server_us_per_echo"], S) if emax["bot_us_per_echo"] == "n/a"
                   else "%s us %s + %s us bot" % (emax["server_us_per_echo"], S, emax["bot_us_per_echo"]))
            echo_s = "%s echoes/s, p99 %s ms (K=%s)" % (emax["echoes_per_s"], emax["rtt_p99_ms"], emax["clients"])
        else:
            cpu = echo_s = "n/a"
        c = [r for r in s if int(r["bots"]) == common]
        at_common = "n/a"
        if c:
            p99 = c[0]["probe_p99_ms"]
            at_common = "%s %s%% CPU, probe p99 %s" % (S, c[0]["server_cpu_pct"],
                                                        p99 if p99 == "n/a" else p99 + " ms")
        rows.append([LABELS[model] + gc_suffix(gc, True), limit, at_common, mem, total,
                     delivery, cpu, echo_s])
    return table(["model", "breaking point (jumper bots: last good - first broken)", "at N=%s jumpers" % common,
                  "server memory per bot", "total memory at that N", "%s CPU per room delivery" % S,
                  "CPU per echoed message", "best echo throughput"], rows)


def samples_table(path):
    """Per phase and process: peak RSS and mean CPU % from the 1 s samples."""
    rows = read_csv(path)
    by = defaultdict(list)
    for r in rows:
        by[(r["phase"], r["role"])].append((float(r["time"]), int(r["cpu_ticks"]), int(r["rss_kb"])))
    hz = os.sysconf("SC_CLK_TCK")
    out = []
    for (phase, role), v in by.items():
        span = v[-1][0] - v[0][0]
        cpu = "%.0f" % (100 * (v[-1][1] - v[0][1]) / hz / span) if span > 0 else "-"
        out.append([phase, role, len(v), "%.1f" % (max(x[2] for x in v) / 1024), cpu])
    return table(["phase", "process", "samples", "peak RSS MB", "mean CPU %"], out)


# How each server was set up (tests/prosody.sh, tests/ejabberd.sh) and the
# protective limits in effect, for the Tuning and Server limits sections.
SETUP = {
    "prosody": (
        "Every run starts a fresh Prosody from `tests/prosody.sh` (plain TCP on 127.0.0.1, accounts copied "
        "in); the lines that matter, from the configs saved as `config-*.cfg.lua`:", "lua",
        "one XEP-0114 stream to Prosody's component port (Prosody 0.12 takes one per component)"),
    "ejabberd": (
        "Every run starts a fresh ejabberd from `tests/ejabberd.sh` (Erlang started directly, its own node, "
        "epmd and ports on 127.0.0.1; c2s with STARTTLS offered, not required, and PLAIN allowed without it: "
        "every client here stays on plain TCP; the accounts' Mnesia spool copied in); the lines that matter, "
        "from the configs saved as `config-*.yml`:", "yaml",
        "one XEP-0114 stream to ejabberd's component port (ejabberd takes several per domain; one here, as "
        "on Prosody)"),
}
LIMITS = {
    "prosody": (
        "Prosody's protective limits here: c2s rate `limits.c2s = 100mb/s` (none in effect), stanza size "
        "256 KiB (c2s) and 512 KiB (component), mod_smacks' queue of 500 unacked stanzas (it only stops a "
        "resumption), no MUC rate limit. The logs are searched for `Too many unacked` and "
        "`stanza-too-large`/`too big`."),
    "ejabberd": (
        "ejabberd 23.01's protective limits here (the generated config plus the defaults, read from a running "
        "node): no shaper on the listeners and no shaper rules but `max_user_sessions`; per c2s and per "
        "component stream process `max_fsm_queue` 10000 messages waiting (beyond it the process, i.e. the "
        "session or the whole component stream, is killed: `{process_limit,{max_queue,N}}`), and a socket "
        "write blocked 15 s closes it (`send_timeout`); `max_stanza_size` 262144 (c2s; component: none); "
        "mod_stream_mgmt `max_ack_queue` 5000 unacked stanzas per session (beyond: the session is closed, "
        "`Too many unacked stanzas`); mod_muc: `min_message_interval` and `min_presence_interval` 0, no room "
        "or user shapers, `max_users` 100000 (service and rooms), `max_user_conferences` 100000, "
        "`max_users_presence` 1000 (rooms here hold about 100), `max_users_admin_threshold` 5 (a full room "
        "only), no history; room processes have no queue limit. The logs are searched for `process_limit`/"
        "`max_queue`, `Too many unacked` and `too big`."),
}


def limits_section(echo, scale):
    """Runs whose server log shows a protective limit hit (server_limits)."""
    hits = [("echo", label(r), "K=" + r["clients"], r["server_limits"]) for r in echo if r["server_limits"] != "none"]
    hits += [("scale", label(r), "N=" + r["bots"], r["server_limits"]) for r in scale
             if r["server_limits"] != "none"]
    if not hits:
        return "No run's server log shows one of these limits hit."
    return ("**A protective limit of the server was hit** (its log lines in `logs/*.server-limits.log`); "
            "the figures of these runs include its effect (sessions or streams cut):\n\n"
            + table(["workload", "model", "run", "limits hit (log lines)"], [list(h) for h in hits]))


def check_server(checks, name, rows, server):
    other = sorted(set(r["server"] for r in rows) - {server})
    checks.check(not other, "%s: every row from %s%s" % (name, server, (" (also: %s)" % ", ".join(other))
                                                           if other else ""))


def main():
    global S
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--duration", required=True)
    ap.add_argument("--server", required=True, choices=sorted(SERVER))
    for opt in ("server-name", "cpu-cores", "cpu-break", "probe-break-pct", "probe-break-p99-ms", "rss-break-kb",
                "window", "interval", "connect-rate", "window-msgs", "join-wait", "bisect-pct", "bisect-max",
                "heard-break-pct"):
        ap.add_argument("--" + opt, required=True)
    a = ap.parse_args()
    S, sv, cores = SERVER[a.server], a.server_name, int(a.cpu_cores)
    d = a.dir
    checks = Checks()
    for f in ("echo.csv", "scale.csv", "breaking.csv", "samples.csv", "machine.md", "tuning.txt"):
        checks.check(os.path.isfile(os.path.join(d, f)), "file %s exists" % f)
    if checks.failed:
        return 1
    echo, scale = read_csv(os.path.join(d, "echo.csv")), read_csv(os.path.join(d, "scale.csv"))
    breaking = read_csv(os.path.join(d, "breaking.csv"))
    order = list(LABELS)
    scale.sort(key=lambda r: (r["gc"], order.index(r["model"]), int(r["bots"])))
    checks.check(len(echo) > 0, "echo.csv has rows (%d)" % len(echo))
    for name, rows in (("echo.csv", echo), ("scale.csv", scale), ("breaking.csv", breaking)):
        check_server(checks, name, rows, a.server)
    check_cells(checks, "echo.csv", echo, ECHO_NA)
    check_cells(checks, "scale.csv", scale, SCALE_NA)
    check_echo(checks, echo)
    check_scale(checks, scale)
    check_breaking(checks, scale, breaking, float(a.bisect_pct), int(a.bisect_max))

    on = ", %s" % sv  # every plot title names the server
    lat = []
    for key, pts in points(echo, label, "clients", "rtt_p50_ms").items():
        lat.append((key + " p50", pts, False))
    for key, pts in points(echo, label, "clients", "rtt_p99_ms").items():
        lat.append((key + " p99", pts, True))
    plot(d, "echo-latency", "Echo round trip (8 in flight per client)" + on, "load clients K",
                     "RTT ms", lat, logy=True)
    plot(d, "echo-throughput", "Echo throughput" + on, "load clients K", "echoes/s",
                     [(k, p, False) for k, p in points(echo, label, "clients", "echoes_per_s").items()])
    mem = [(k + ": " + S, p, False) for k, p in points(scale, label, "bots", "server_rss_kb").items()]
    mem += [(k + ": bot process", p, True) for k, p in points(scale, label, "bots", "bot_rss_kb").items()]
    mem = [(t, [(x, y / 1024) for x, y in p], dsh) for t, p, dsh in mem]
    plot(d, "memory-vs-n", "Memory with N jumper bots" + on, "jumper bots N", "RSS MB", mem)
    cpu = [(k + ": " + S, p, False) for k, p in points(scale, label, "bots", "server_cpu_pct").items()]
    cpu += [(k + ": bot process", p, True) for k, p in points(scale, label, "bots", "bot_cpu_pct").items()]
    plot(d, "cpu-vs-n", "CPU with N jumper bots (100% = one core)" + on, "jumper bots N", "CPU %", cpu)
    dl = [(k + " p50", p, False) for k, p in points(scale, label, "bots", "probe_p50_ms").items()]
    dl += [(k + " p99", p, True) for k, p in points(scale, label, "bots", "probe_p99_ms").items()]
    plot(d, "delivery-delay-vs-n", "MUC delivery delay seen by the probe in bot_room_0" + on,
                     "jumper bots N", "delay ms", dl, logy=True)
    expected = ["echo-latency", "echo-throughput"]
    if scale:
        expected += ["memory-vs-n", "cpu-vs-n"]
    if dl:
        expected.append("delivery-delay-vs-n")
    for name in expected:
        path = os.path.join(d, name + ".png")
        checks.check(os.path.isfile(path) and os.path.getsize(path) > 0, "plot %s.png written" % name)

    def md(name):
        with open(os.path.join(d, name)) as f:
            return f.read().rstrip()

    echo_cols = ["model", "K", "M", "sent", "echoed", "lost", "echoes/s", "RTT p50 ms", "p99 ms", "max ms",
                 "%s us/echo" % S, "bot us/echo", "load gen us/echo", "%s RSS MB" % S, "bot RSS MB", "limits hit"]
    echo_rows = [[label(r), r["clients"], r["messages_per_client"], r["sent"], r["echoed"], r["lost"],
                  r["echoes_per_s"], r["rtt_p50_ms"], r["rtt_p99_ms"], r["rtt_max_ms"], r["server_us_per_echo"],
                  r["bot_us_per_echo"], r["loadgen_us_per_echo"], mb(r["server_rss_kb"]),
                  mb(r["bot_rss_kb"]), r["server_limits"]] for r in echo]
    scale_cols = ["model", "N", "rooms", "online s", "joined s", "online", "%s RSS MB" % S, "server B/bot",
                  "%s CPU %%" % S, "bot RSS MB", "client B/bot", "bot CPU %", "groupchat sent/s",
                  "received/s", "heard %", "%s us/delivery" % S, "errors", "probes sent/reflected", "delivery %",
                  "probe p50/p99/max ms", "limits hit", "breaks", "stage"]
    scale_rows = [[label(r), r["bots"], r["rooms"], r["online_s"], r["joined_s"], r["online"],
                   mb(r["server_rss_kb"]), r["server_bytes_per_bot"], r["server_cpu_pct"],
                   mb(r["bot_rss_kb"]),
                   r["client_bytes_per_bot"], r["bot_cpu_pct"], r["groupchat_sent_per_s"],
                   r["groupchat_received_per_s"], r["heard_pct"], per_delivery(r), r["errors"],
                   "%s/%s" % (r["probe_sent"], r["probe_reflected"]),
                   r["probe_delivery_pct"], "%s/%s/%s" % (r["probe_p50_ms"], r["probe_p99_ms"], r["probe_max_ms"]),
                   r["server_limits"], r["breaks"], r["stage"]] for r in scale]
    setup, lang, component = SETUP[a.server]
    if cores == 1:
        cpu_rule = ("%s used >= %s%% of one core over the window (`cpu-saturated`: it runs its Lua in one "
                    "thread)" % (S, a.cpu_break))
    else:
        cpu_rule = ("%s used >= %s%% over the window, 100%% being one core (`cpu-saturated`: %.0f%% of each of "
                    "the %d cores its %d scheduler threads can keep busy; its CPU is the sum over all its "
                    "threads, so it exceeds 100%% when it uses more than one core)"
                    % (S, a.cpu_break, float(a.cpu_break) / cores, cores, cores))
    report = [
        "# xmppbots deployment models compared on %s" % sv, "",
        "Written by `bench/compare --server %s` in %.0f s. Every figure below was measured in this run against "
        "%s; raw data in `echo.csv`, `scale.csv` and `samples.csv`, logs in `logs/`."
        % (a.server, float(a.duration), sv), "",
        "## Machine", "", md("machine.md"), "",
        "## Tuning", "",
        setup, "",
        "```" + lang, md("tuning.txt"), "```", "",
        "Client bots: `--connect-rate %s --retries 100`, SASL as the CLI negotiates it, XEP-0198 stream "
        "management on (the CLI's default; the server offers it); load generator: "
        "`--window %s --connect-rate 1000`. Component bots: `--component bots.localhost` over %s, brought "
        "online at the same `--connect-rate`. Jumpers: 1 room per 100 bots, 5-9 phrases, %s s apart; "
        "measurement window %s s with the probe in bot_room_0."
        % (a.connect_rate, a.window_msgs, component, a.interval, a.window), "",
        "## Server limits", "",
        LIMITS[a.server], "",
        limits_section(echo, scale), "",
        "## Breaking criteria", "",
        "A scale run breaks (and its model stops stepping) when any of: bots online < configured (`online<N`); "
        "N room joins not reached within N/%s + %s s (`join-timeout`); the probe could not join "
        "(`probe-not-joined`), or saw < %s%% of its probes reflected (`probe-delivery`), or a p99 delivery delay "
        "> %s ms (`probe-p99`); %s; %s RSS "
        "> %d MB, half the RAM (`rss-limit`); the bots heard < %s%% of the phrases their rooms should have "
        "delivered to them, each phrase said reaching the (N - 1) / rooms other bots of its room "
        "(`bots-behind`: deliveries, or the bots' own sends, fall behind; the probe, a client of its own, "
        "does not see a backlog on the bots' connections)."
        % (a.connect_rate, a.join_wait, a.probe_break_pct, a.probe_break_p99_ms, cpu_rule, S,
           int(a.rss_break_kb) // 1024, a.heard_break_pct), "",
        "Each model steps up its ladder until a step breaks, then bisects between the last good and the "
        "first broken N (geometric middle, 2 significant digits) until the first broken N is within %s%% "
        "of the last good one, at most %s bisection steps." % (a.bisect_pct, a.bisect_max), "",
        "## Breaking points", "",
        breaking_table(scale, breaking) if breaking else "(no scale runs)", "",
        "Ratios of the breaking points (the last good N over the last good N; in brackets the range the two "
        "intervals allow):", "",
        ratios_table(breaking) if breaking else "(no scale runs)", "",
        "## Headline", "", headline(echo, scale, breaking), "",
        "Server memory per bot: (%s RSS with N bots - RSS of an idle %s configured as for the model "
        "with no bots: the in-server module loaded, the component declared) / N, at the largest N that "
        "did not break. %s CPU per room delivery: %s's CPU over the window / the groupchat messages "
        "the bots received in it (a bot in a room of 100 receives each phrase said there), at that N. CPU per "
        "echoed message and throughput from each model's echo run with the most echoes/s; the %s figure has "
        "the logins taken out (see below)." % (S, S, S, S, S), "",
        "## Echo", "",
        "K load clients (`xmppbots load`, %s messages in flight each) send M messages each to "
        "echobot@localhost (the component's: echobot@bots.localhost). Before the measured run, a warm-up with "
        "the same K logins and 1 message each; "
        "%s us/echo = (%s CPU in the measured run - CPU in the warm-up) / (echoes - warm-up "
        "echoes), which removes the logins' cost. echoes/s is over the load generator's first send to last "
        "echo (the logins overlap its start). Bot and load generator us/echo: their whole CPU over the "
        "measured run / echoes." % (a.window_msgs, S, S), "",
        table(echo_cols, echo_rows), "",
        "![echo latency](echo-latency.png)", "", "![echo throughput](echo-throughput.png)", "",
        "## Jumper scale", "",
        "online s / joined s: seconds from starting %s until all N bots were online / until N room joins "
        "had happened. RSS and CPU (100%% = one core) at the end of / over the window; rates over the window "
        "from mod_bots' `bots:stats()`, mod_lua_jumper's counters or the CLI's `--stats` JSON; errors: join "
        "errors plus the model's error counters. %s us/delivery: its CPU over the window / groupchat "
        "received. stage: `ladder` or `bisect`." % (S, S), "",
        table(scale_cols, scale_rows) if scale_rows else "(no scale runs)", "",
        "![memory](memory-vs-n.png)", "", "![cpu](cpu-vs-n.png)", "", "![delivery](delivery-delay-vs-n.png)", "",
        "## Consistency checks", "", "\n".join(checks.lines), "",
        "## Processes sampled each second", "",
        "Mean CPU %: 100 = one core; a multi-threaded process (ejabberd's beam.smp) can exceed it.", "",
        samples_table(os.path.join(d, "samples.csv")), "",
    ]
    with open(os.path.join(d, "report.md"), "w") as f:
        f.write("\n".join(report))
    if checks.failed:
        print("WARNING: %d consistency check(s) failed, see %s/report.md" % (checks.failed, d), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
