#!/usr/bin/python3
"""The measuring half of bench/cluster.sh, which starts the two ejabberd
nodes and the component bot processes and calls this for each step:

  cluster.py CTX init                 machine, versions -> results.json
  cluster.py CTX echo-run MODE ROUND  phase 1, one run (MODE single|cluster)
  cluster.py CTX failover             phase 2 (kills node 2)
  cluster.py CTX jumpers              phase 3 (kills node 2)
  cluster.py CTX report LOAD SECONDS  report.md and the CSVs

CTX is the JSON the script writes (paths, ports, parameters). This starts
the `xmppbots load` clients itself (one process per client: --to names one
echo bot), samples their --stats files and those of the echo and jumper
processes, reads CPU ticks and RSS from /proc/PID/stat and status, and
kills node 2 (SIGKILL) when a phase says so. Every number goes to
results.json in the output directory with what produced it. Its load
clients are stopped when it ends, by SIGTERM or otherwise. Exit status 1
when a step could not run at all.
"""

import calendar
import csv
import glob
import json
import os
import platform
import resource
import signal
import statistics
import subprocess
import sys
import time

HZ = os.sysconf("SC_CLK_TCK")
BIG = 100000000  # the load kind's largest --messages: "until stopped"
LIVE = set()  # load client processes running


class Fatal(Exception):
    pass


def say(msg):
    print(time.strftime("%H:%M:%S", time.gmtime()) + " " + msg,
          file=sys.stderr, flush=True)


def on_term(sig, frame):
    raise SystemExit(128 + sig)


# --- processes ---------------------------------------------------------------

def read_pid(path):
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def proc_stat(pid):
    """The fields after the command name in /proc/PID/stat, or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError, TypeError):
        return None


def alive(pid):
    st = proc_stat(pid) if pid else None
    return bool(st) and st[0] != "Z"


def ticks(pid):
    """utime + stime of every thread of PID, in clock ticks (None: gone)."""
    st = proc_stat(pid) if pid else None
    return int(st[11]) + int(st[12]) if st else None


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, TypeError):
        pass
    return None


def node_pid(ctx, n):
    pid = read_pid(os.path.join(ctx[f"node{n}"], "ejabberd.pid"))
    return pid if alive(pid) else None


def schedulers(pid):
    try:
        names = []
        for t in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{t}/comm") as f:
                names.append(f.read().strip())
        return sum(1 for n in names if n.endswith("_scheduler")
                   and n.split("_")[0].isdigit())
    except OSError:
        return None


def all_ticks(pids):
    return {name: ticks(pid) for name, pid in pids.items()}


def cpu_s(t0, t1, name):
    a, b = t0.get(name), t1.get(name)
    return None if a is None or b is None else (b - a) / HZ


def jread(path):
    """A --stats file (written whole, then renamed into place), or None."""
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def ready_at(stats, i):
    try:
        return stats["servers"][i]["streams_ready"]
    except (TypeError, KeyError, IndexError):
        return None


# --- results -----------------------------------------------------------------

def results_path(ctx):
    return os.path.join(ctx["out"], "results.json")


def load_results(ctx):
    try:
        with open(results_path(ctx)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def save_results(ctx, res):
    tmp = results_path(ctx) + ".tmp"
    with open(tmp, "w") as f:
        json.dump(res, f, indent=1)
    os.replace(tmp, results_path(ctx))


def rnd(x, n=3):
    return None if x is None else round(x, n)


def per_1000(cpu, count):
    return None if cpu is None or not count else cpu / count * 1000


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def cmdline(argv):
    return " ".join(a if a and all(c.isalnum() or c in "-_./:,=@%" for c in a)
                    else "'" + a.replace("'", "'\\''") + "'" for a in argv)


def read_cmd(ctx, name):
    try:
        with open(os.path.join(ctx["tmp"], "cmd-" + name)) as f:
            return f.read().strip().replace(ctx["tmp"], "$TMP")
    except OSError:
        return None


# --- the load clients ----------------------------------------------------------

def c2s_hosts(ctx, cluster):
    p = ctx["ports"]
    if cluster:
        return f"127.0.0.1:{p['c2s1']},127.0.0.1:{p['c2s2']}"
    return f"127.0.0.1:{p['c2s1']}"


def target(ctx, k, count):
    """The echo bot of load client k of count: spread over the E bots. Bot
    i's own stream is i mod S, at node (i mod S) mod 2, and client k is at
    node k mod 2: the stream k with its lowest bit flipped when bit 1 of k
    is set gives every 4 clients 4 different bots' streams, 2 on the
    client's node and 2 on the other. (A bot answers through the node that
    delivered the message, so the answers stay on the client's node.)"""
    e, s = ctx["echo_bots"], ctx["streams"]
    i = (s * (k * e // (count * s)) + (k ^ ((k >> 1) & 1)) % s) % e
    return f"echo{i}@echo.localhost"


class Loads:
    """One `xmppbots load` process per client k in ks."""

    def __init__(self, ctx, tag, ks, hosts, messages, window,
                 msg_timeout=None, duration=None):
        self.ctx, self.tag, self.ks = ctx, tag, list(ks)
        self.dir = os.path.join(ctx["tmp"], "loads", tag)
        os.makedirs(self.dir, exist_ok=True)
        self.procs, self.exit = {}, {}
        self.cmds = {}
        for k in self.ks:
            cmd = [ctx["bin"], "load", "--jid", "load%d@localhost",
                   "--first", str(k), "--count", "1",
                   "--password-file", ctx["password_file"],
                   "--host", hosts, "--tls", "none", "--allow-plain",
                   "--to", target(ctx, k, len(self.ks)),
                   "--messages", str(messages), "--window", str(window),
                   "--stats", self.stats(k), "--stats-interval", "0.1",
                   "--no-progress"]
            if msg_timeout:
                cmd += ["--message-timeout", str(msg_timeout)]
            if duration:
                cmd += ["--duration", str(int(duration))]
            self.cmds[k] = cmd
        self.started = time.time()
        for k in self.ks:
            with open(self.log(k), "w") as out:
                p = subprocess.Popen(self.cmds[k], stdout=out,
                                     stderr=subprocess.STDOUT)
            self.procs[k] = p
            LIVE.add(p)
            with open(os.path.join(ctx["procs"], f"load-{p.pid}"), "w") as f:
                f.write(f"{p.pid}\n")

    def stats(self, k):
        return os.path.join(self.dir, f"{k}.json")

    def log(self, k):
        return os.path.join(self.dir, f"{k}.out")

    def cmd(self, k):
        return cmdline(self.cmds[k]).replace(self.ctx["tmp"], "$TMP")

    def running(self):
        out = []
        for k, p in self.procs.items():
            if k in self.exit:
                continue
            rc = p.poll()
            if rc is None:
                out.append(k)
            else:
                self.exit[k] = rc
                self.forget(p)
        return out

    def forget(self, p):
        LIVE.discard(p)
        try:
            os.unlink(os.path.join(self.ctx["procs"], f"load-{p.pid}"))
        except OSError:
            pass

    def sample(self):
        return {k: jread(self.stats(k)) for k in self.ks}

    def stop(self, wait=10):
        for k in self.running():
            self.procs[k].send_signal(signal.SIGTERM)
        end = time.time() + wait
        while self.running() and time.time() < end:
            time.sleep(0.05)
        for k in self.running():
            self.procs[k].kill()
            self.procs[k].wait()
        self.running()

    def finish(self):
        """The final stats of each client; their outputs into one log."""
        self.running()
        finals = self.sample()
        with open(os.path.join(self.ctx["out"], "logs",
                               f"load-{self.tag}.log"), "w") as log:
            for k in self.ks:
                log.write(f"== client {k} (exit {self.exit.get(k)}): "
                          f"{self.cmd(k)}\n")
                try:
                    with open(self.log(k)) as f:
                        log.write(f.read())
                except OSError:
                    pass
        return finals


def stop_live():
    for p in list(LIVE):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    end = time.time() + 5
    while any(p.poll() is None for p in LIVE) and time.time() < end:
        time.sleep(0.05)
    for p in list(LIVE):
        if p.poll() is None:
            p.kill()
            p.wait()
        LIVE.discard(p)


def aggregate(finals):
    """Sums and RTT figures over the clients' final stats. The CLI gives
    RTT percentiles per process only: p50 is the median of the clients'
    p50s, p99 the largest client p99 (an upper bound of the p99 of all)."""
    a = {"sent": 0, "answered": 0, "lost": 0, "corrupt": 0, "reconnects": 0}
    p50s, p99s, rates, ns = [], [], [], 0
    missing = 0
    for k, s in finals.items():
        if not s:
            missing += 1
            continue
        for key in a:
            a[key] += int(s.get(key, 0))
        r = s.get("rtt")
        if r and r.get("n"):
            p50s.append(r["p50_ms"])
            p99s.append(r["p99_ms"])
            rates.append(r["per_s"])
            ns += r["n"]
    a["clients_without_stats"] = missing
    a["echoes_per_s"] = sum(rates) if rates else 0.0
    a["rtt_n"] = ns
    a["rtt_p50_ms"] = median(p50s)
    a["rtt_p50_min_ms"] = min(p50s) if p50s else None
    a["rtt_p50_max_ms"] = max(p50s) if p50s else None
    a["rtt_p99_ms"] = max(p99s) if p99s else None
    a["rtt_p99_median_ms"] = median(p99s)
    return a


def echo_counter(ctx, key="echoed"):
    s = jread(ctx["echo_stats"])
    return int(s.get(key, 0)) if s else None


def wait_component(path, pid, count, layout, limit, what):
    """Waits until the component process has COUNT bots online and LAYOUT
    (ready streams per --host server). Seconds taken; Fatal if not."""
    t0 = time.time()
    while time.time() - t0 < limit:
        if not alive(pid):
            raise Fatal(f"the {what} process (PID {pid}) is gone")
        s = jread(path)
        if s and s.get("online") == count and all(
                ready_at(s, i) == n for i, n in enumerate(layout)):
            return time.time() - t0
        time.sleep(0.1)
    s = jread(path) or {}
    raise Fatal(f"{what}: not {count} online with streams {layout} within "
                f"{limit} s (online {s.get('online')}, servers "
                f"{s.get('servers')})")


def layout(ctx, streams, cluster):
    return [(streams + 1) // 2, streams // 2] if cluster else [streams]


def batch(ctx, tag, ks, hosts, messages, window, pids, limit):
    """Runs the clients ks to completion: their sums, CPU of pids over the
    run, the load processes' own CPU (rusage of reaped children), RSS."""
    time.sleep(0.25)  # the echo process's stats written since the last run
    e0 = echo_counter(ctx)
    t0 = all_ticks(pids)
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    loads = Loads(ctx, tag, ks, hosts, messages, window)
    timed_out = False
    while loads.running():
        if time.time() - loads.started > limit:
            timed_out = True
            loads.stop()
            break
        time.sleep(0.05)
    end = time.time()
    t1 = all_ticks(pids)
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    rss = {name: rss_kb(pid) for name, pid in pids.items()}
    time.sleep(0.35)
    e1 = echo_counter(ctx)
    finals = loads.finish()
    out = aggregate(finals)
    out.update({
        "tag": tag, "clients": len(loads.ks), "messages": messages,
        "window": window, "wall_s": end - loads.started,
        "timed_out": timed_out,
        "exit_codes": sorted(set(loads.exit.values())),
        "echoed_by_echo_process": None if e0 is None or e1 is None
        else e1 - e0,
        "cpu_s": {n: cpu_s(t0, t1, n) for n in pids},
        "loadgen_cpu_s": (ru1.ru_utime + ru1.ru_stime)
        - (ru0.ru_utime + ru0.ru_stime),
        "rss_kb": rss,
        "command_client_0": loads.cmd(loads.ks[0]),
    })
    return out


# --- init ----------------------------------------------------------------------

def sh(argv):
    try:
        return subprocess.run(argv, capture_output=True, text=True,
                              timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def init(ctx):
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            mem_kb = int(f.readline().split()[1])
    except (OSError, ValueError):
        mem_kb = None
    otp = "?"
    for path in glob.glob("/usr/lib/erlang/releases/*/OTP_VERSION"):
        with open(path) as f:
            otp = f.read().strip()
    pid = node_pid(ctx, 1)
    meta = {
        "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                     time.gmtime(ctx["t_start"])),
        "cores": os.cpu_count(), "cpu": cpu, "mem_mb":
        mem_kb // 1024 if mem_kb else None, "kernel": platform.release(),
        "ejabberd": sh(["dpkg-query", "-W", "-f=${Version}", "ejabberd"]),
        "otp": otp, "schedulers": schedulers(pid),
        "xmppbots": sh([ctx["bin"], "--version"]),
        "git": sh(["git", "-C", ctx["root"], "describe", "--always",
                   "--dirty"]),
        "bin": ctx["bin"], "node1_name": sh(["bash", os.path.join(
            ctx["root"], "tests", "ejabberd.sh"), "node", ctx["node1"]]),
    }
    save_results(ctx, {"meta": meta, "phase1": []})


# --- phase 1 -------------------------------------------------------------------

def echo_run(ctx, mode, rnd_):
    cluster = mode == "cluster"
    e, s, k, m, w = (ctx[x] for x in ("echo_bots", "streams", "clients",
                                        "messages", "window"))
    echo_pid = read_pid(os.path.join(ctx["procs"], "echo"))
    online_s = wait_component(ctx["echo_stats"], echo_pid, e,
                              layout(ctx, s, cluster), 60, "echo")
    pids = {"node1": node_pid(ctx, 1), "echo": echo_pid}
    if cluster:
        pids["node2"] = node_pid(ctx, 2)
        if not pids["node2"]:
            raise Fatal("node 2 is not running")
    hosts = c2s_hosts(ctx, cluster)
    limit = 60 + 4 * m * k / 1000
    warm = batch(ctx, f"p1-{mode}-{rnd_}-warmup", range(k), hosts, 1, w,
                 pids, 60)
    time.sleep(0.5)
    run = batch(ctx, f"p1-{mode}-{rnd_}", range(k), hosts, m, w, pids, limit)
    if run["answered"] == 0:
        raise Fatal(f"phase 1 {mode}: no echo came back "
                    f"(exit codes {run['exit_codes']})")
    n = run["answered"] - warm["answered"]
    row = {"mode": mode, "round": rnd_, "echo_bots": e, "streams": s,
           "clients": k, "messages": m, "window": w,
           "echo_online_s": rnd(online_s, 2)}
    for key in ("sent", "answered", "lost", "corrupt", "echoes_per_s",
                "wall_s", "rtt_p50_ms", "rtt_p50_min_ms", "rtt_p50_max_ms",
                "rtt_p99_ms", "rtt_p99_median_ms", "reconnects",
                "timed_out", "exit_codes", "echoed_by_echo_process"):
        row[key] = rnd(run[key], 3) if isinstance(run[key], float) \
            else run[key]
    row["echoes_per_s_wall"] = rnd(run["answered"] / run["wall_s"], 1)
    for name in ("node1", "node2", "echo"):
        c, cw = run["cpu_s"].get(name), warm["cpu_s"].get(name)
        row[f"{name}_cpu_s"] = rnd(c, 2)
        row[f"{name}_cpu_pct"] = rnd(None if c is None
                                     else 100 * c / run["wall_s"], 1)
        # The warm-up's cost (the same K logins and one message each)
        # taken out: CPU per echo, not per login.
        row[f"{name}_cpu_s_per_1000"] = rnd(per_1000(
            None if c is None or cw is None else c - cw, n), 4)
        r = run["rss_kb"].get(name)
        row[f"{name}_rss_mb"] = rnd(None if r is None else r / 1024, 1)
    row["loadgen_cpu_s"] = rnd(run["loadgen_cpu_s"], 2)
    row["loadgen_cpu_s_per_1000"] = rnd(per_1000(
        run["loadgen_cpu_s"] - warm["loadgen_cpu_s"], n), 4)
    row["command_echo"] = read_cmd(ctx, f"echo-{mode}-{rnd_}")
    row["command_load_client_0"] = run["command_client_0"]
    res = load_results(ctx)
    res.setdefault("phase1", []).append(row)
    save_results(ctx, res)
    say(f"phase 1 {mode} round {rnd_}: {row['echoes_per_s']:.0f} echoes/s, "
        f"RTT p50 {row['rtt_p50_ms']} ms p99 {row['rtt_p99_ms']} ms, "
        f"lost {row['lost']}; CPU s per 1000 echoes: node 1 "
        f"{row['node1_cpu_s_per_1000']}, node 2 {row['node2_cpu_s_per_1000']}"
        f", echo process {row['echo_cpu_s_per_1000']}")


# --- phase 2 -------------------------------------------------------------------

def at(series, t, key):
    """The value of key in the last sample taken at or before t."""
    v = None
    for s in series:
        if s["t"] > t:
            break
        v = s[key]
    return v


def rate(series, a, b, key="answered"):
    va, vb = at(series, a, key), at(series, b, key)
    return None if va is None or vb is None or b <= a else (vb - va) / (b - a)


def first_t(series, since, pred):
    for s in series:
        if s["t"] >= since and pred(s):
            return s["t"]
    return None


def failover(ctx):
    e, s, k = ctx["echo_bots"], ctx["streams"], ctx["clients"]
    res = load_results(ctx)
    echo_pid = read_pid(os.path.join(ctx["procs"], "echo"))
    wait_component(ctx["echo_stats"], echo_pid, e, layout(ctx, s, True), 60,
                   "echo")
    pids = {"node1": node_pid(ctx, 1), "node2": node_pid(ctx, 2),
            "echo": echo_pid}
    if not pids["node2"]:
        raise Fatal("node 2 is not running")
    hosts = c2s_hosts(ctx, True)
    out = {"echo_bots": e, "streams": s, "message_timeout_s":
           ctx["message_timeout"], "settle_s": ctx["fo_settle"],
           "before_s": ctx["fo_before"], "after_s": ctx["fo_after"]}
    x1s = [r["echoes_per_s"] for r in res.get("phase1", [])
           if r["mode"] == "cluster"]
    if x1s:
        x1 = median(x1s)
        out["reference"] = "median echoes/s of the phase-1 cluster runs"
    else:
        ref = batch(ctx, "p2-reference", range(k), hosts, ctx["messages"],
                    ctx["window"], pids, 60 + 4 * ctx["messages"] * k / 1000)
        x1 = ref["echoes_per_s"]
        out["reference"] = (f"a phase-1-like run here ({k} clients x "
                            f"{ctx['messages']}, window {ctx['window']})")
    if not x1:
        raise Fatal("no reference throughput")
    out["reference_echoes_per_s"] = rnd(x1, 1)
    # The load kind has no rate option: each client keeps its window full.
    # Window 1, and as many clients as give about half the reference.
    calib, k2 = [], k
    for it in range(3):
        msgs = max(200, int(2.0 * x1 / k2))
        b = batch(ctx, f"p2-calibration-{it}", range(k2), hosts, msgs, 1,
                  pids, 60)
        frac = b["echoes_per_s"] / x1
        calib.append({"clients": k2, "messages": msgs, "window": 1,
                      "echoes_per_s": rnd(b["echoes_per_s"], 1),
                      "fraction_of_reference": rnd(frac, 3),
                      "rtt_p50_ms": b["rtt_p50_ms"]})
        say(f"phase 2 calibration: {k2} clients, window 1: "
            f"{b['echoes_per_s']:.0f} echoes/s ({frac:.2f} of {x1:.0f})")
        if b["echoes_per_s"] <= 0:
            raise Fatal("calibration: no echo came back")
        if 0.4 <= frac <= 0.6:
            break
        new = max(2, min(k, 2 * round(k2 * 0.5 / frac / 2)))
        if new == k2:
            break
        k2 = new
        time.sleep(0.5)
    out["calibration"] = calib
    out["clients"] = k2
    ks = list(range(k2))
    node2_clients = [c for c in ks if c % 2 == 1]
    total = 40 + ctx["fo_settle"] + ctx["fo_before"] + ctx["fo_after"]
    time.sleep(0.5)
    loads = Loads(ctx, "p2-failover", ks, hosts, BIG, 1,
                  msg_timeout=ctx["message_timeout"], duration=total + 60)
    out["command_load_client_0"] = loads.cmd(0)
    out["command_echo"] = read_cmd(ctx, "echo-failover")
    series, marks = [], {}
    t_on = t_kill = None
    n2pid = pids["node2"]
    start = time.time()
    while True:
        now = time.time()
        st = loads.sample()
        ej = jread(ctx["echo_stats"]) or {}

        def tot(key, group=ks):
            return sum(int((st[c] or {}).get(key, 0)) for c in group)
        series.append({
            "t": now, "answered": tot("answered"), "lost": tot("lost"),
            "online": tot("online"), "reconnects": tot("reconnects"),
            "node2_clients_online": tot("online", node2_clients),
            "lost_node1_clients": tot("lost", [c for c in ks if c % 2 == 0]),
            "lost_node2_clients": tot("lost", node2_clients),
            "sm_resume_failures": tot("sm_resume_failures"),
            "sm_resent": tot("sm_resent"),
            "per_client": {c: ((st[c] or {}).get("online", 0),
                               (st[c] or {}).get("reconnects", 0))
                           for c in node2_clients},
            "echo_ready_node1": ready_at(ej, 0),
            "echo_ready_node2": ready_at(ej, 1),
            "echo_reconnects": ej.get("reconnects"),
            "echo_online": ej.get("online"), "echoed": ej.get("echoed")})
        if t_on is None:
            if all(st[c] and st[c].get("online") == 1
                   and st[c].get("answered", 0) > 0 for c in ks):
                t_on = now
                marks["online"] = now - start
            elif now - start > 40:
                raise Fatal("phase 2: the load clients did not all get "
                            "online and answered within 40 s")
        elif "before" not in marks and now >= t_on + ctx["fo_settle"]:
            marks["before"] = (now, all_ticks(pids))
        elif "before" in marks and t_kill is None and \
                now >= marks["before"][0] + ctx["fo_before"]:
            marks["kill"] = (now, all_ticks(pids))
            if not alive(n2pid):
                raise Fatal("node 2 died before it was killed")
            os.kill(n2pid, signal.SIGKILL)
            t_kill = now
            say(f"phase 2: node 2 (PID {n2pid}) killed")
        elif t_kill is not None and now >= t_kill + ctx["fo_after"]:
            marks["end"] = (now, all_ticks(pids))
            break
        if not loads.running():
            raise Fatal("phase 2: the load clients exited early")
        time.sleep(max(0.0, now + 0.1 - time.time()))
    rss_end = rss_kb(pids["node1"])
    loads.stop()
    loads.finish()

    tb, tk, te = marks["before"][0], t_kill, marks["end"][0]
    before = rate(series, tb, tk)
    secs = []
    for i in range(int(ctx["fo_after"])):
        secs.append(rnd(rate(series, tk + i, tk + i + 1), 1))
    back90 = next((i for i, r in enumerate(secs)
                   if r is not None and before and r >= 0.9 * before), None)
    streams_moved = first_t(series, tk, lambda x: x["echo_ready_node1"] == s
                            and x["echo_ready_node2"] == 0)
    node2_streams_gone = first_t(series, tk,
                                 lambda x: x["echo_ready_node2"] == 0)
    at_kill = next(x for x in reversed(series) if x["t"] <= tk)
    back = {}
    for c in node2_clients:
        r0 = at_kill["per_client"][c][1]
        t = first_t(series, tk, lambda x: x["per_client"][c][1] > r0
                    and x["per_client"][c][0] == 1)
        back[c] = None if t is None else rnd(t - tk, 2)
    cpu = {}
    for name in pids:
        for a, b, label in (("before", "kill", "before"),
                            ("kill", "end", "after")):
            c = cpu_s(marks[a][1], marks[b][1], name)
            span = marks[b][0] - marks[a][0]
            cpu[f"{name}_cpu_pct_{label}"] = rnd(
                None if c is None else 100 * c / span, 1)
    last = series[-1]
    out.update({
        "echoes_per_s_before": rnd(before, 1),
        "fraction_of_reference": rnd(before / x1 if before else None, 3),
        "echoes_per_s_each_second_after": secs,
        "echoes_per_s_after_min": min((r for r in secs if r is not None),
                                      default=None),
        "echoes_per_s_last_half_after": rnd(
            rate(series, tk + ctx["fo_after"] / 2, te), 1),
        "seconds_until_90pct_of_before": back90,
        "echo_streams_node2_gone_s": rnd(node2_streams_gone - tk, 2)
        if node2_streams_gone else None,
        "echo_streams_all_at_node1_s": rnd(streams_moved - tk, 2)
        if streams_moved else None,
        "echo_reconnects": (last["echo_reconnects"] or 0)
        - (at_kill["echo_reconnects"] or 0),
        "echo_online_min_after": min((x["echo_online"] for x in series
                                      if x["t"] >= tk
                                      and x["echo_online"] is not None),
                                     default=None),
        "node2_clients": node2_clients,
        "node2_clients_back_s": back,
        "node2_clients_all_back_s": None if not back or None in
        back.values() else max(back.values()),
        "client_reconnects": last["reconnects"] - at_kill["reconnects"],
        "lost_before": at_kill["lost"],
        "lost_after": last["lost"] - at_kill["lost"],
        "lost_after_node1_clients": last["lost_node1_clients"]
        - at_kill["lost_node1_clients"],
        "lost_after_node2_clients": last["lost_node2_clients"]
        - at_kill["lost_node2_clients"],
        # Stream management (the CLI's default): a client cut with node 2
        # fails to resume at node 1 and sends its unacknowledged messages
        # again; the load bot has counted them lost when it went offline,
        # and ignores their echoes.
        "sm_resume_failures_after": last["sm_resume_failures"]
        - at_kill["sm_resume_failures"],
        "sm_resent_after": last["sm_resent"] - at_kill["sm_resent"],
        "answered_total": last["answered"],
        "node1_rss_mb_end": rnd(rss_end / 1024 if rss_end else None, 1),
        "online_after_start_s": rnd(marks["online"], 2),
        "sample_interval_s": 0.1, "stats_interval_s": 0.1,
    })
    out.update(cpu)
    res = load_results(ctx)
    res["phase2"] = out
    save_results(ctx, res)
    with open(os.path.join(ctx["out"], "failover.csv"), "w", newline="") as f:
        wr = csv.writer(f)
        cols = ["answered", "lost", "online", "reconnects",
                "node2_clients_online", "echo_ready_node1",
                "echo_ready_node2", "echo_reconnects", "echo_online",
                "echoed"]
        wr.writerow(["t_since_kill_s"] + cols)
        for x in series:
            wr.writerow([f"{x['t'] - tk:.2f}"] + [x[c] for c in cols])
    say(f"phase 2: before {fmt(before)} echoes/s; streams all at node 1 "
        f"{out['echo_streams_all_at_node1_s']} s after the kill, node-2 "
        f"clients back {out['node2_clients_all_back_s']} s, lost "
        f"{out['lost_after']}, min 1-s rate after {out['echoes_per_s_after_min']}")


# --- phase 3 -------------------------------------------------------------------

def occupants(ctx):
    rows = []
    try:
        with open(ctx["occupants"]) as f:
            for line in f:
                p = line.split()
                if len(p) == 3 and all(x.lstrip("-").isdigit() for x in p):
                    rows.append({"t": int(p[0]) / 1000, "occupants": int(p[1]),
                                 "rooms": int(p[2])})
    except OSError:
        pass
    return rows


def room_creations(ctx, since, until):
    """The rooms that ejabberd's logs show created on both nodes between
    since and until (unix times): concurrent first joins through the two
    nodes can each start a room process; one wins the cluster's room
    table, and the occupants of the other are not in the room."""
    made = {}
    for n in (1, 2):
        try:
            with open(os.path.join(ctx[f"node{n}"], "logs",
                                   "ejabberd.log")) as f:
                for line in f:
                    if "Created MUC room " not in line:
                        continue
                    try:  # the log's times are UTC
                        t = calendar.timegm(time.strptime(
                            line[:19], "%Y-%m-%d %H:%M:%S"))
                    except ValueError:
                        continue
                    room = line.split("Created MUC room ", 1)[1].split()[0]
                    if since - 1 <= t <= until + 1:
                        made.setdefault(room, set()).add(n)
        except OSError:
            pass
    return sorted(r for r, ns in made.items() if len(ns) == 2)


def jumpers(ctx):
    j, rooms = ctx["jumpers"], ctx["rooms"]
    jpid = read_pid(os.path.join(ctx["procs"], "jumper"))
    pids = {"node1": node_pid(ctx, 1), "node2": node_pid(ctx, 2),
            "jumper": jpid}
    if not pids["node2"]:
        raise Fatal("node 2 is not running")
    path = ctx["jumper_stats"]
    t0 = time.time()
    limit = j / 500 + 90
    joined_s = None
    while time.time() - t0 < limit:
        if not alive(jpid):
            raise Fatal("the jumper process is gone")
        st = jread(path)
        if st and st.get("online") == j and st.get("joins", 0) >= j:
            joined_s = time.time() - t0
            break
        time.sleep(0.25)
    if joined_s is None:
        st = jread(path) or {}
        raise Fatal(f"phase 3: not {j} jumpers online and {j} joins within "
                    f"{limit:.0f} s (online {st.get('online')}, joins "
                    f"{st.get('joins')})")
    say(f"phase 3: {j} jumpers online and joined in {joined_s:.1f} s")
    # Joined as the jumpers see it is not yet in the room as node 1 sees
    # it: jumpers whose first join raced another on the other node may sit
    # in a copy of the room that lost (see room_creations); they learn it
    # from their first phrase and join again. The window starts once node
    # 1 counts 99% of them in rooms (or after 90 s).
    want = -(-99 * j // 100)
    t1 = time.time()
    settled_s = None
    while time.time() - t1 < 90:
        occ = occupants(ctx)
        if occ and occ[-1]["t"] > t1 and occ[-1]["occupants"] >= want:
            settled_s = time.time() - t0
            break
        time.sleep(0.25)
    say(f"phase 3: node 1 counts {occ[-1]['occupants'] if occ else '?'} "
        f"occupants {time.time() - t0:.1f} s after the start")
    keys = ("online", "joins", "leaves", "rooms_lost", "join_errors",
            "groupchat_sent", "groupchat_received", "reconnects")
    series, marks = [], {}
    w0 = time.time() + ctx["jp_settle"]
    w1 = w0 + ctx["jumper_window"]
    end = w1 + ctx["jp_after"]
    while True:
        now = time.time()
        st = jread(path) or {}
        x = {"t": now}
        for key in keys:
            x[key] = st.get(key)
        x["ready_node1"], x["ready_node2"] = ready_at(st, 0), ready_at(st, 1)
        series.append(x)
        if "w0" not in marks and now >= w0:
            marks["w0"] = (now, all_ticks(pids), x)
        elif "w0" in marks and "kill" not in marks and now >= w1:
            marks["kill"] = (now, all_ticks(pids), x)
            rss = {n: rss_kb(p) for n, p in pids.items()}
            if not alive(pids["node2"]):
                raise Fatal("node 2 died before it was killed")
            os.kill(pids["node2"], signal.SIGKILL)
            say(f"phase 3: node 2 (PID {pids['node2']}) killed")
        elif "kill" in marks and now >= end:
            marks["end"] = (now, all_ticks(pids), x)
            break
        if not alive(jpid):
            raise Fatal("the jumper process is gone")
        time.sleep(max(0.0, now + 0.5 - time.time()))
    rss_end = rss_kb(pids["node1"])
    occ = occupants(ctx)
    tw0, tk, te = marks["w0"][0], marks["kill"][0], marks["end"][0]
    a, b, c = marks["w0"][2], marks["kill"][2], marks["end"][2]

    def d(key, x, y):
        return None if x.get(key) is None or y.get(key) is None \
            else y[key] - x[key]

    def pct(name, m0, m1):
        cs = cpu_s(marks[m0][1], marks[m1][1], name)
        return rnd(None if cs is None else
                   100 * cs / (marks[m1][0] - marks[m0][0]), 1)
    win = tk - tw0
    occ_win = [o for o in occ if tw0 <= o["t"] <= tk]
    floor = min((o["occupants"] for o in occ_win), default=None)
    mean = statistics.mean(o["occupants"] for o in occ_win) \
        if occ_win else None
    dip = next((o for o in occ if o["t"] > tk and floor is not None
                and o["occupants"] < floor), None)
    after_dip = [o for o in occ if dip and o["t"] >= dip["t"]]
    lowest = min(after_dip, key=lambda o: o["occupants"]) \
        if after_dip else None
    back = next((o for o in after_dip if o["occupants"] >= floor), None)
    back_mean = next((o for o in after_dip if mean is not None
                      and o["occupants"] >= mean), None)
    rooms_back = next((o for o in after_dip if o["rooms"] >= rooms), None)
    moved = first_t(series, tk, lambda x: x["ready_node1"] == 2)
    heard_after = d("groupchat_received", b, c)
    t_back = back["t"] if back else None
    buckets = []
    step = 5
    for i in range(int(ctx["jp_after"] // step)):
        r = rate(series, tk + i * step, tk + (i + 1) * step,
                 "groupchat_received")
        buckets.append(rnd(r, 1))
    out = {
        "jumpers": j, "rooms": rooms, "streams": 2,
        "settle_s": ctx["jp_settle"], "window_s": rnd(win, 1),
        "after_s": ctx["jp_after"], "joined_s": rnd(joined_s, 1),
        "occupants_99pct_s": rnd(settled_s, 1),
        "rooms_lost_before_window": a.get("rooms_lost"),
        "rooms_lost_in_window": d("rooms_lost", a, b),
        "rooms_created_on_both_nodes": room_creations(ctx, t0 - 30, tk),
        "command_jumper": read_cmd(ctx, "jumper"),
        "node1_cpu_pct": pct("node1", "w0", "kill"),
        "node2_cpu_pct": pct("node2", "w0", "kill"),
        "jumper_cpu_pct": pct("jumper", "w0", "kill"),
        "node1_cpu_pct_after": pct("node1", "kill", "end"),
        "jumper_cpu_pct_after": pct("jumper", "kill", "end"),
        "node1_rss_mb": rnd(rss["node1"] / 1024 if rss.get("node1") else None,
                            1),
        "node2_rss_mb": rnd(rss["node2"] / 1024 if rss.get("node2") else None,
                            1),
        "node1_rss_mb_end": rnd(rss_end / 1024 if rss_end else None, 1),
        "phrases_sent_per_s": rnd(d("groupchat_sent", a, b) / win, 1)
        if d("groupchat_sent", a, b) is not None else None,
        "phrases_delivered_per_s": rnd(d("groupchat_received", a, b) / win, 1)
        if d("groupchat_received", a, b) is not None else None,
        "occupants_window_mean": rnd(mean, 1),
        "occupants_window_min": floor,
        "rooms_alive_before_kill": max((o["rooms"] for o in occ_win),
                                       default=None),
        "occupants_lowest_after_kill": lowest["occupants"] if lowest else None,
        "occupants_lowest_after_kill_s": rnd(lowest["t"] - tk, 1)
        if lowest else None,
        "rooms_alive_lowest_after_kill": min(
            (o["rooms"] for o in occ if o["t"] > tk), default=None),
        "occupants_back_to_window_min_s": rnd(t_back - tk, 1)
        if t_back else None,
        "occupants_back_to_window_mean_s": rnd(back_mean["t"] - tk, 1)
        if back_mean else None,
        "rooms_all_alive_again_s": rnd(rooms_back["t"] - tk, 1)
        if rooms_back else None,
        "no_dip": dip is None,
        "jumper_streams_at_node1_s": rnd(moved - tk, 1) if moved else None,
        "rooms_lost": d("rooms_lost", b, c),
        "join_errors_after": d("join_errors", b, c),
        "stream_reconnects_after": d("reconnects", b, c),
        "online_min_after": min((x["online"] for x in series
                                 if x["t"] >= tk and x["online"] is not None),
                                default=None),
        "phrases_delivered_per_s_after": rnd(heard_after / (te - tk), 1)
        if heard_after is not None else None,
        "phrases_delivered_per_s_after_back": rnd(
            rate(series, t_back, te, "groupchat_received"), 1)
        if t_back and te - t_back >= 5 else None,
        "phrases_delivered_per_s_5s_buckets_after": buckets,
        "phrases_sent_per_s_after": rnd(d("groupchat_sent", b, c) / (te - tk),
                                        1)
        if d("groupchat_sent", b, c) is not None else None,
        "occupant_polls": len(occ),
    }
    res = load_results(ctx)
    res["phase3"] = out
    save_results(ctx, res)
    with open(os.path.join(ctx["out"], "jumpers.csv"), "w", newline="") as f:
        wr = csv.writer(f)
        cols = list(keys) + ["ready_node1", "ready_node2"]
        wr.writerow(["source", "t_since_kill_s"] + cols +
                    ["occupants", "rooms_alive"])
        for x in series:
            wr.writerow(["jumper_stats", f"{x['t'] - tk:.2f}"] +
                        [x[k] for k in cols] + ["", ""])
        for o in occ:
            wr.writerow(["occupants", f"{o['t'] - tk:.2f}"] +
                        [""] * len(cols) + [o["occupants"], o["rooms"]])
    say(f"phase 3: {out['phrases_delivered_per_s']} phrases delivered/s, "
        f"CPU node 1 {out['node1_cpu_pct']}% node 2 {out['node2_cpu_pct']}%;"
        f" after the kill: rooms lost {out['rooms_lost']}, occupants back in "
        f"{out['occupants_back_to_window_min_s']} s, "
        f"{out['phrases_delivered_per_s_after']} phrases delivered/s")


# --- report --------------------------------------------------------------------

def fmt(x, nd=None):
    if x is None:
        return "n/a"
    if isinstance(x, float):
        if nd is None:
            nd = 0 if abs(x) >= 100 else 1 if abs(x) >= 10 else 2 \
                if abs(x) >= 1 else 3
        return f"{x:.{nd}f}"
    return str(x)


def table(head, rows, align=None):
    """A Markdown table; align: one letter a column, l or r (default: the
    first column left, the others right)."""
    align = align or "l" + "r" * (len(head) - 1)
    out = ["| " + " | ".join(head) + " |",
           "|" + "|".join("---" if a == "l" else "---:" for a in align)
           + "|"]
    for r in rows:
        out.append("| " + " | ".join(fmt(x) for x in r) + " |")
    return out


P1_COLS = [
    ("mode", "mode"), ("round", "round"), ("echoes/s", "echoes_per_s"),
    ("RTT p50 ms", "rtt_p50_ms"), ("RTT p99 ms", "rtt_p99_ms"),
    ("lost", "lost"),
    ("node 1 CPU s/1000", "node1_cpu_s_per_1000"),
    ("node 2 CPU s/1000", "node2_cpu_s_per_1000"),
    ("echo CPU s/1000", "echo_cpu_s_per_1000"),
    ("load CPU s/1000", "loadgen_cpu_s_per_1000"),
    ("node 1 CPU %", "node1_cpu_pct"), ("node 2 CPU %", "node2_cpu_pct"),
    ("echo CPU %", "echo_cpu_pct"),
    ("node 1 RSS MB", "node1_rss_mb"), ("node 2 RSS MB", "node2_rss_mb"),
]


def report(ctx, load_end, seconds):
    res = load_results(ctx)
    meta = res.get("meta", {})
    meta["load_end"] = load_end
    meta["duration_s"] = int(seconds)
    res["meta"] = meta
    save_results(ctx, res)
    p1, p2, p3 = res.get("phase1", []), res.get("phase2"), res.get("phase3")
    L = []
    L.append("# Two-node ejabberd cluster: the component model, and a "
             "node's loss")
    L.append("")
    L.append(f"Run {meta.get('started_utc')}, profile {ctx['profile']}, "
             f"phases {ctx['phases']}, {seconds} s (`bench/cluster.sh`). "
             f"Load average (1, 5, 15 min) {ctx['load_start']} at the start,"
             f" {load_end} at the end.")
    L.append("")
    L.append(f"- Machine: {meta.get('cores')} cores ({meta.get('cpu')}), "
             f"{meta.get('mem_mb')} MB RAM, Linux {meta.get('kernel')}.")
    L.append(f"- ejabberd {meta.get('ejabberd')}, Erlang/OTP "
             f"{meta.get('otp')}, {meta.get('schedulers')} scheduler threads "
             f"per node; {meta.get('xmppbots')} (git {meta.get('git')}, "
             f"`{meta.get('bin')}`).")
    pp = ctx["ports"]
    L.append("- Two nodes on 127.0.0.1 from `tests/ejabberd.sh start DIR "
             "PORT plain` (STARTTLS offered, not required; its config: no "
             "shaper, MUC without history), node 2 started with "
             "`XB_EJABBERD_JOIN` (it joins node 1's cluster; Mnesia "
             "replicates the accounts). Per node a c2s port and one "
             "`ejabberd_service` listener per component domain "
             f"(`echo.localhost`, `jump.localhost`): node 1 c2s {pp['c2s1']},"
             f" echo {pp['echo1']}, jumpers {pp['jump1']}; node 2 c2s "
             f"{pp['c2s2']}, echo {pp['echo2']}, jumpers {pp['jump2']}. "
             "Load clients on plain TCP (`--tls none --allow-plain`, "
             "SCRAM-SHA-256), stream management on (the CLI's default).")
    L.append("- CPU: utime + stime of the process (all threads) from "
             "`/proc/PID/stat`, in seconds per 1000 echoes (= ms per echo) "
             "or in % of one core; a node is its `beam.smp`. RSS: VmRSS.")
    L.append("")

    if p1:
        L.append("## 1. Throughput through the cluster")
        L.append("")
        r0 = p1[0]
        L.append(f"{r0['echo_bots']} component echo bots over "
                 f"{r0['streams']} streams, {r0['clients']} load clients "
                 f"(`xmppbots load`, one process each) x {r0['messages']} "
                 f"messages, {r0['window']} in flight per client. **cluster**"
                 ": the echo process's `--host` names both nodes' echo "
                 "listeners (stream k starts at node k mod 2: "
                 f"{(r0['streams'] + 1) // 2} + {r0['streams'] // 2}), "
                 "clients' `--host` both c2s ports (client k, `--first k`, "
                 "at node k mod 2). **single**: the same with node 2 stopped,"
                 " every stream and client at node 1. The runs alternate.")
        L.append("")
        L.append("Client k sends to echo bot "
                 "`S * floor(k * E / (K * S)) + ((k XOR bit 1 of k) mod S)`:"
                 " the targets spread over the E bots; a component"
                 " bot's own stream is i mod S (at node (i mod S) mod 2), and "
                 "every 4 clients get bots of 4 different streams, 2 at their "
                 "own node and 2 at the other. ejabberd hands a "
                 "message to a component stream on the sender's own node "
                 "(when it has one), and a bot answers on a stream to the "
                 "node that delivered the message, so in the cluster both "
                 "the requests and the answers stay on the client's node.")
        L.append("")
        L.append("Commands (round 1; client k differs in `--first`, `--to`"
                 " and its stats file):")
        L.append("")
        for r in p1[:2]:
            L.append(f"- {r['mode']}, echo: `{r['command_echo']}`")
            L.append(f"- {r['mode']}, load client 0: "
                     f"`{r['command_load_client_0']}`")
        L.append("")
        L.extend(table([c[0] for c in P1_COLS],
                       [[r.get(c[1]) for c in P1_COLS] for r in p1]))
        L.append("")
        med = {}
        for mode in ("single", "cluster"):
            rows = [r for r in p1 if r["mode"] == mode]
            if rows:
                med[mode] = {c[1]: median([r.get(c[1]) for r in rows])
                             for c in P1_COLS[2:]}
        if med:
            L.append("Medians over the rounds:")
            L.append("")
            L.extend(table(["mode"] + [c[0] for c in P1_COLS[2:]],
                           [[m] + [med[m][c[1]] for c in P1_COLS[2:]]
                            for m in med]))
            L.append("")
        if "single" in med and "cluster" in med and \
                med["single"]["echoes_per_s"]:
            s, c = med["single"], med["cluster"]
            ratio = c["echoes_per_s"] / s["echoes_per_s"]
            tot = [(x["node1_cpu_s_per_1000"] or 0)
                   + (x["node2_cpu_s_per_1000"] or 0) for x in (s, c)]
            L.append(f"Cluster / one node: {ratio:.2f}x the echoes/s; "
                     f"ejabberd CPU per 1000 echoes (both nodes) "
                     f"{fmt(tot[1])} s against {fmt(tot[0])} s "
                     f"({tot[1] / tot[0]:.2f}x)." if tot[0] else
                     f"Cluster / one node: {ratio:.2f}x the echoes/s.")
            L.append("")
        L.append("How to read it: echoes/s is the sum of the clients' rates "
                 "(each its `rtt.per_s`, echoes over its first to its last "
                 "echo); `echoes_per_s_wall` in phase1.csv is all echoes "
                 "over the wall time of the run, logins included. RTT p50 is "
                 "the median of the clients' p50s and p99 the largest "
                 "client p99 (an upper bound of the p99 over all echoes): "
                 "the CLI's stats give percentiles per process only. CPU per "
                 "1000 echoes takes out a warm-up run with the same logins "
                 "and one message each. On 2 cores, both nodes, the echo "
                 "process and the load clients share the machine: a node "
                 "near 100 x schedulers % or the sum of all CPU near "
                 "100 x cores % is saturated, and the cluster cannot be "
                 "faster than one node here; what it costs (CPU per echo) is "
                 "the figure that carries over to separate machines. When "
                 "clients wait out lost messages their spans differ, and "
                 "the sum of their rates overstates the throughput: then "
                 "read `echoes_per_s_wall`.")
        L.append("")

    if p2:
        L.append("## 2. Failover under load")
        L.append("")
        cal = p2["calibration"]
        L.append(f"{p2['echo_bots']} echo bots over {p2['streams']} streams "
                 f"on both nodes, {p2['clients']} load clients (client k at "
                 "node k mod 2) with window 1 and `--message-timeout "
                 f"{p2['message_timeout_s']}`, sending until stopped. The "
                 "load kind has no rate option (a client keeps its window "
                 "full: a closed loop), so the clients were chosen to give "
                 f"about half the reference ({fmt(p2['reference_echoes_per_s'])}"
                 f" echoes/s, {p2['reference']}): calibration runs "
                 + ", ".join(f"{x['clients']} clients: "
                             f"{fmt(x['echoes_per_s'])}/s "
                             f"({fmt(x['fraction_of_reference'])})"
                             for x in cal) + ". "
                 f"After all were online, {p2['settle_s']} s to settle, "
                 f"{p2['before_s']} s before the kill, node 2's `beam.smp` "
                 f"killed with SIGKILL, {p2['after_s']} s after. The stats "
                 "files (written every 0.1 s) were read every 0.1 s: times "
                 "below are good to about 0.2 s.")
        L.append("")
        L.append(f"- echo: `{p2['command_echo']}`")
        L.append(f"- load client 0: `{p2['command_load_client_0']}`")
        L.append("")
        rows = [
            ("echoes/s before the kill", p2["echoes_per_s_before"],
             f"{fmt(p2['fraction_of_reference'])} of the reference"),
            ("node 2's echo streams down (s after the kill)",
             p2["echo_streams_node2_gone_s"], "its `streams_ready` 0"),
            ("every echo stream ready at node 1 (s)",
             p2["echo_streams_all_at_node1_s"],
             f"`servers`: {p2['streams']} at node 1; "
             f"{p2['echo_reconnects']} stream reconnects"),
            ("echo bots online, lowest after the kill",
             p2["echo_online_min_after"], f"of {p2['echo_bots']}"),
            ("node-2 load clients all back online at node 1 (s)",
             p2["node2_clients_all_back_s"],
             "clients " + ", ".join(f"{k}: {v}" for k, v in
                                    p2["node2_clients_back_s"].items())),
            ("client reconnects after the kill", p2["client_reconnects"],
             f"clients at node 2: {len(p2['node2_clients'])}"),
            ("messages lost after the kill", p2["lost_after"],
             f"clients at node 1: {p2['lost_after_node1_clients']}, at "
             f"node 2: {p2['lost_after_node2_clients']}; before the kill: "
             f"{p2['lost_before']}; stream management: resumptions failed "
             f"{fmt(p2.get('sm_resume_failures_after'))}, messages sent "
             f"again {fmt(p2.get('sm_resent_after'))}"),
            ("echoes/s, lowest 1-s interval after", p2[
                "echoes_per_s_after_min"], ""),
            ("seconds until a 1-s interval >= 90% of before",
             p2["seconds_until_90pct_of_before"], ""),
            ("echoes/s over the second half of the after window",
             p2["echoes_per_s_last_half_after"], "node 1 alone"),
            ("node 1 CPU % before / after", f"{fmt(p2['node1_cpu_pct_before'])}"
             f" / {fmt(p2['node1_cpu_pct_after'])}",
             f"node 2 before: {fmt(p2['node2_cpu_pct_before'])}; echo process"
             f" {fmt(p2['echo_cpu_pct_before'])} / "
             f"{fmt(p2['echo_cpu_pct_after'])}"),
        ]
        L.extend(table(["", "value", "note"], rows, "lrl"))
        L.append("")
        L.append("Echoes/s in each second after the kill: "
                 + ", ".join(fmt(x) for x in
                             p2["echoes_per_s_each_second_after"]) + ".")
        L.append("")
        L.append("How to read it: a client counts a message lost when its "
                 "connection drops with it in flight, or when no echo "
                 "comes within the message timeout (a client at node 1 "
                 "whose echo was on its way through one of node 2's "
                 "streams). A client at node 2 tries to resume its stream "
                 "at node 1, which does not know the session, binds "
                 "afresh and sends its unacknowledged message again (stream"
                 " management); the load bot has already counted it lost "
                 "and ignores its echo. With window 1 each "
                 "client has at most one message at risk, and a client "
                 "whose message was lost waits up to the timeout (checked "
                 "each second) before it sends the next, which shows in the "
                 "rate. A closed loop's rate is clients / RTT: after the "
                 "kill it can rise above the rate before (no answer crosses "
                 "nodes any more, and on one machine node 2's CPU goes to "
                 "node 1). A closed loop offers less load while it waits, so "
                 "nothing queues up: what an open-loop sender (users who "
                 "keep typing) would lose or see delayed is not measured. "
                 "failover.csv has every 0.1-s sample.")
        L.append("")

    if p3:
        L.append("## 3. Jumpers in rooms")
        L.append("")
        L.append(f"{p3['jumpers']} component jumpers in {p3['rooms']} rooms "
                 "(`bot_room_0..`, about 100 each; 5-9 phrases per visit, 5-15"
                 " s apart, the defaults) on 2 streams, one per node. All "
                 f"online and joined {p3['joined_s']} s after the start; "
                 f"then {p3['settle_s']} s to settle, a {p3['window_s']} s "
                 f"window, node 2 killed (SIGKILL), {p3['after_s']} s after. "
                 "Occupants: `mod_muc_admin:get_room_occupants_number` for "
                 "each room, by RPC to node 1 from one hidden Erlang node "
                 "every 0.5 s (what `ejabberd.sh ctl DIR "
                 "get_room_occupants_number` asks, without a VM per call); a"
                 " room that does not answer counts 0.")
        L.append("")
        L.append(f"- jumper: `{p3['command_jumper']}`")
        L.append("")
        rows = [
            ("phrases delivered/s (window)", p3["phrases_delivered_per_s"],
             f"groupchat_received; phrases said/s "
             f"{fmt(p3['phrases_sent_per_s'])}"),
            ("node 1 CPU % (window)", p3["node1_cpu_pct"],
             f"RSS {fmt(p3['node1_rss_mb'])} MB"),
            ("node 2 CPU % (window)", p3["node2_cpu_pct"],
             f"RSS {fmt(p3['node2_rss_mb'])} MB"),
            ("jumper process CPU % (window)", p3["jumper_cpu_pct"], ""),
            ("occupants in the window, mean / lowest",
             f"{fmt(p3['occupants_window_mean'])} / "
             f"{fmt(p3['occupants_window_min'])}",
             f"rooms alive {fmt(p3['rooms_alive_before_kill'])}"),
            ("rooms lost before the window (jumper counter)",
             p3["rooms_lost_before_window"],
             f"in the window {fmt(p3['rooms_lost_in_window'])}; rooms "
             "created on both nodes at the start: "
             + (", ".join(p3["rooms_created_on_both_nodes"]) or "none")
             + "; node 1 counted 99% in rooms "
             f"{fmt(p3['occupants_99pct_s'])} s after the start"),
            ("rooms lost (jumper counter) after the kill", p3["rooms_lost"],
             f"join errors {fmt(p3['join_errors_after'])}"),
            ("occupants, lowest after the kill",
             p3["occupants_lowest_after_kill"],
             f"at {fmt(p3['occupants_lowest_after_kill_s'])} s; rooms alive "
             f"lowest {fmt(p3['rooms_alive_lowest_after_kill'])}"),
            ("occupants back to the window's lowest (s after the kill)",
             p3["occupants_back_to_window_min_s"],
             f"to its mean: {fmt(p3['occupants_back_to_window_mean_s'])} s; "
             f"every room alive again: {fmt(p3['rooms_all_alive_again_s'])} s"
             + ("; no dip: node 2 hosted no room" if p3["no_dip"] else "")),
            ("jumper stream of node 2 at node 1 (s)",
             p3["jumper_streams_at_node1_s"],
             f"jumpers online, lowest after: {fmt(p3['online_min_after'])}"),
            ("phrases delivered/s after the kill",
             p3["phrases_delivered_per_s_after"],
             f"once back: {fmt(p3['phrases_delivered_per_s_after_back'])}; "
             f"phrases said/s {fmt(p3['phrases_sent_per_s_after'])}"),
            ("node 1 CPU % after the kill", p3["node1_cpu_pct_after"],
             f"jumper process {fmt(p3['jumper_cpu_pct_after'])}%"),
        ]
        L.extend(table(["", "value", "note"], rows, "lrl"))
        L.append("")
        L.append("Phrases delivered/s in each 5 s after the kill: "
                 + ", ".join(fmt(x) for x in
                             p3["phrases_delivered_per_s_5s_buckets_after"])
                 + ".")
        L.append("")
        L.append("Before the window: when the first joins of a room "
                 "arrive through both nodes at once, each node may start "
                 "a process for it; ejabberd's logs show the room created "
                 "twice, the cluster's room table keeps one, and the "
                 "jumpers that joined the other are in no room as far as "
                 "the room that routes their phrases knows: their first "
                 "phrase gets not-acceptable, they count `rooms_lost` and "
                 "join again. The window starts once node 1 counts 99% of "
                 "the jumpers in rooms (at most 90 s after all joined), "
                 "then the settling time.")
        L.append("")
        L.append("How to read it: a room lives on the node that created it "
                 "(the node of the stream that carried its first join), and "
                 "goes down with it; its jumpers learn it from the error to "
                 "their next phrase (5-15 s later), count `rooms_lost` and "
                 "join again after a backoff (1 s first), which recreates "
                 "the room on node 1. Until then they are missing from the "
                 "occupant count, and the phrases they say are not "
                 "delivered. jumpers.csv has the jumper stats (every 0.5 s) "
                 "and the occupant polls.")
        L.append("")

    try:
        with open(os.path.join(ctx["tmp"], "failed")) as f:
            failed = f.read().strip()
    except OSError:
        failed = None
    if failed:
        L.append(f"**The run stopped: {failed}.** The sections above are "
                 "what ran before.")
        L.append("")
        print(f"FAILED: {failed}")
    L.append("## What this run could not measure")
    L.append("")
    L.append("- No rate option in `xmppbots load`: phase 2's \"steady rate\" "
             "is a closed loop (window 1) with the number of clients chosen"
             " by calibration, not a fixed offered rate.")
    L.append("- `--to` takes one JID per load bot and the stats give RTT "
             "percentiles per process: one process per client, and the "
             "p50/p99 over all clients are estimates (median of p50s, "
             "largest p99), not percentiles of all echoes.")
    L.append("- The load stats have no per-second series: phase 2's "
             "echoes/s per second come from sampling the `answered` "
             "counters every 0.1 s.")
    try:
        with open(os.path.join(ctx["tmp"], "limits.log")) as f:
            lim = [x.rstrip() for x in f if x.strip()]
    except OSError:
        lim = []
    L.append("- ejabberd protective limits in the logs (max_queue, "
             "unacked stanzas): " + ("none" if not lim else
                                      f"{len(lim)} lines, e.g. `{lim[0][:200]}`"))
    L.append("")
    L.append("Files: results.json (every number, the commands), phase1.csv,"
             " failover.csv, jumpers.csv, logs/ (nodes' logs, bot outputs, "
             "the occupant polls).")
    with open(os.path.join(ctx["out"], "report.md"), "w") as f:
        f.write("\n".join(L) + "\n")
    if p1:
        cols = list(p1[0].keys())
        with open(os.path.join(ctx["out"], "phase1.csv"), "w",
                  newline="") as f:
            wr = csv.writer(f)
            wr.writerow(cols)
            for r in p1:
                wr.writerow([r.get(c) if not isinstance(r.get(c), list)
                             else " ".join(map(str, r.get(c))) for c in cols])
    # The numbers on stdout.
    print(f"cluster bench: profile {ctx['profile']}, {seconds} s, "
          f"out {ctx['out']}")
    for r in p1:
        print(f"phase 1 {r['mode']:7} round {r['round']}: "
              f"{fmt(r['echoes_per_s'])} echoes/s, RTT p50 "
              f"{fmt(r['rtt_p50_ms'])} p99 {fmt(r['rtt_p99_ms'])} ms, lost "
              f"{r['lost']}; CPU s/1000 echoes node1 "
              f"{fmt(r['node1_cpu_s_per_1000'])} node2 "
              f"{fmt(r['node2_cpu_s_per_1000'])} echo "
              f"{fmt(r['echo_cpu_s_per_1000'])}; RSS MB node1 "
              f"{fmt(r['node1_rss_mb'])} node2 {fmt(r['node2_rss_mb'])}")
    if p2:
        print(f"phase 2: {p2['clients']} clients, "
              f"{fmt(p2['echoes_per_s_before'])} echoes/s before "
              f"({fmt(p2['fraction_of_reference'])} of "
              f"{fmt(p2['reference_echoes_per_s'])}); after the kill: "
              f"streams at node 1 in {fmt(p2['echo_streams_all_at_node1_s'])}"
              f" s, node-2 clients back in "
              f"{fmt(p2['node2_clients_all_back_s'])} s, lost "
              f"{p2['lost_after']}, lowest 1-s rate "
              f"{fmt(p2['echoes_per_s_after_min'])}, 90% again after "
              f"{fmt(p2['seconds_until_90pct_of_before'])} s, "
              f"{fmt(p2['echoes_per_s_last_half_after'])} echoes/s later")
    if p3:
        print(f"phase 3: {p3['jumpers']} jumpers: "
              f"{fmt(p3['phrases_delivered_per_s'])} phrases delivered/s, "
              f"CPU node1 {fmt(p3['node1_cpu_pct'])}% node2 "
              f"{fmt(p3['node2_cpu_pct'])}% jumper "
              f"{fmt(p3['jumper_cpu_pct'])}%; after the kill: rooms lost "
              f"{p3['rooms_lost']}, occupants back in "
              f"{fmt(p3['occupants_back_to_window_min_s'])} s, "
              f"{fmt(p3['phrases_delivered_per_s_after'])} phrases "
              f"delivered/s (once back "
              f"{fmt(p3['phrases_delivered_per_s_after_back'])})")


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1]) as f:
        ctx = json.load(f)
    signal.signal(signal.SIGTERM, on_term)
    cmd, args = sys.argv[2], sys.argv[3:]
    try:
        if cmd == "init":
            init(ctx)
        elif cmd == "echo-run":
            echo_run(ctx, args[0], int(args[1]))
        elif cmd == "failover":
            failover(ctx)
        elif cmd == "jumpers":
            jumpers(ctx)
        elif cmd == "report":
            report(ctx, args[0], args[1])
        else:
            print(f"unknown command {cmd}", file=sys.stderr)
            return 2
    except Fatal as e:
        say(f"cluster.py {cmd}: {e}")
        return 1
    finally:
        stop_live()
    return 0


if __name__ == "__main__":
    sys.exit(main())
