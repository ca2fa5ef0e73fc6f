#!/usr/bin/env bash
# The web presence gateway under page load, in both hosts (a benchmark: it
# prints numbers and writes a report, it asserts nothing about speed):
#   cli      xmppbots webpresence, the external component presence.localhost
#            of a private Prosody, its pages served by H2O (--http), its
#            registrations in SQLite (--db)
#   prosody  mod_bots in Prosody (Component "presence.localhost" "bots"),
#            its pages on Prosody's HTTP server, its registrations in
#            Prosody's internal storage
# N users are registered by writing the gateway's store directly (the CLI's
# SQLite table, Prosody's bots_webpresence.dat), not through XMPP; sampled
# tokens must then answer 200 (and an unknown one 404). Memory per
# registered user: (RSS with N users - RSS with 0) / N, of the xmppbots
# process or of Prosody (after a full Lua collection). Then wrk, with keep-
# alive connections each asking for random registered tokens' pages (HTML,
# and .json), at each concurrency for --duration seconds: pages/s and
# latency p50/p99/max. Every user is offline (no one is connected): the
# pages are the "offline" ones.
#   bench/webpresence.sh [OPTIONS]
#     --users N            registered users (default 10000)
#     --duration S         seconds of load per run (default 10)
#     --connections "C..." keep-alive connections per run (default "1 10 100")
#     --pages "P..."       html and/or json (default "html json")
#     --threads T          wrk threads (default 1: the other core serves)
#     --hosts "H..."       cli and/or prosody (default "cli prosody")
#     --build DIR          build tree (default build)
#     --port P             first of 4 ports on 127.0.0.1 (default: free ones
#                          in 20000-29999): c2s, component, CLI pages,
#                          Prosody's HTTP
#     --max-time S         skip what would end after S seconds (default 540)
# Writes bench/results/webpresence-<UTC stamp>.md and .json. Needs Debian's
# prosody, python3 with sqlite3, and wrk (installed here if missing, when
# apt-get can be run).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
users=10000 duration=10 conns="1 10 100" pages="html json" threads=1
hosts="cli prosody" build="$top/build" port="" max_time=540
command="bench/webpresence.sh $*"
gw=presence.localhost
py=/usr/bin/python3

die() { echo "webpresence.sh: $*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
uint() { [[ $2 =~ ^[0-9]+$ ]] || die "$1 needs a number, not '$2'"; }

while [ $# -gt 0 ]; do
    case $1 in
    --users) uint "$1" "${2-}"; users=$2 ;;
    --duration) uint "$1" "${2-}"; duration=$2 ;;
    --connections) conns=${2-} ;;
    --pages) pages=${2-} ;;
    --threads) uint "$1" "${2-}"; threads=$2 ;;
    --hosts) hosts=${2-} ;;
    --build) build=${2-} ;;
    --port) uint "$1" "${2-}"; port=$2 ;;
    --max-time) uint "$1" "${2-}"; max_time=$2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
    [ $# -ge 2 ] || die "$1 needs a value"
    shift 2
done
if [ "$users" -lt 1 ] || [ "$duration" -lt 1 ] || [ "$threads" -lt 1 ]; then
    die "--users, --duration and --threads must be at least 1"
fi
for c in $conns; do uint --connections "$c"; [ "$c" -ge 1 ] || die "--connections: at least 1"; done
for p in $pages; do [[ $p =~ ^(html|json)$ ]] || die "--pages: html or json, not '$p'"; done
for h in $hosts; do [[ $h =~ ^(cli|prosody)$ ]] || die "--hosts: cli or prosody, not '$h'"; done
deadline=$((SECONDS + max_time))

# --- what it needs -------------------------------------------------------------
for tool in prosody prosodyctl "$py"; do
    command -v "$tool" > /dev/null || die "$tool not found (./dev deps installs it)"
done
"$py" -c 'import sqlite3' 2> /dev/null || die "$py cannot import sqlite3"
if ! command -v wrk > /dev/null; then
    # The load generator: Debian's wrk (keep-alive, a Lua script picks each
    # request's URL, HdrHistogram latencies).
    echo "webpresence.sh: wrk (the HTTP load generator, Debian package wrk) is missing: installing it" >&2
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo -n"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends wrk >&2 ||
        die "could not install wrk: run 'sudo apt-get install wrk' (or ./dev deps)"
fi
build=$(cd "$build" 2> /dev/null && pwd) || die "no build directory (./dev build, or --build DIR)"
bin="$build/cli/xmppbots"
so="$build/mod_bots/.libs/xmppbots_bots.so"
case " $hosts " in *" cli "*) [ -x "$bin" ] || die "$bin not built (make in $build)" ;; esac
case " $hosts " in *" prosody "*)
    [ -f "$so" ] || die "$so not built (make in $build)"
    ! ldd "$so" | grep -q libasan || die "$so is a sanitizer build: Prosody cannot load it"
    ;;
esac

out="$top/bench/results"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
report="$out/webpresence-$stamp.md"
json="$out/webpresence-$stamp.json"
tmp=$(mktemp -d)
mkdir -p "$out"
gw_pid="" prosody_dirs=""
export PYTHONDONTWRITEBYTECODE=1

cleanup() {
    local d
    if [ -n "$gw_pid" ]; then
        kill -TERM "$gw_pid" 2> /dev/null || true
        wait "$gw_pid" 2> /dev/null || true
    fi
    for d in $prosody_dirs; do
        "$top/tests/prosody.sh" stop "$d" > /dev/null 2>&1 || true
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '== %s\n' "$*" >&2; }
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# children_s: the user+system seconds of this shell's reaped children
# (times runs in this shell: in a subshell it would count the subshell's).
children_s() {
    times > "$tmp/times"
    awk 'NR == 2 { gsub(/[ms]/, " "); print $1 * 60 + $2 + $3 * 60 + $4 }' "$tmp/times"
}
port_busy() { (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null; }

# Four ports: c2s, component, the CLI's pages, Prosody's HTTP.
if [ -z "$port" ]; then
    for _ in $(seq 1 50); do
        port=$((20000 + RANDOM % 9990))
        port_busy "$port" || port_busy $((port + 1)) || port_busy $((port + 2)) ||
            port_busy $((port + 3)) || break
        port=""
    done
    [ -n "$port" ] || die "no 4 free ports found in 20000-29999"
fi
cport=$((port + 1)) wport=$((port + 2)) hport=$((port + 3))
secret="wpbench-$$-$RANDOM"

# wait_for SECONDS COMMAND...: poll COMMAND every 0.2 s until it succeeds.
wait_for() {
    local n=$(($1 * 5))
    shift
    until "$@"; do
        n=$((n - 1))
        [ "$n" -gt 0 ] || return 1
        sleep 0.2
    done
}
# wait_idle PID: until PID used at most 1 tick (10 ms) in each of two
# consecutive half seconds (at most 60 s): startup work (loading the
# store, one presence probe per registered user) is over.
wait_idle() {
    local quiet=0 a b
    a=$(ticks "$1")
    for _ in $(seq 1 120); do
        sleep 0.5
        b=$(ticks "$1")
        if [ $((b - a)) -le 1 ]; then quiet=$((quiet + 1)); else quiet=0; fi
        [ "$quiet" -lt 2 ] || return 0
        a=$b
    done
    echo "webpresence.sh: process $1 still busy after 60 s; measuring anyway" >&2
}

# make_store FORMAT N FILE TOKENS: N registrations (user0..user(N-1)@localhost,
# random base64url tokens of 24 characters, status text shown, JID not)
# written to FILE as the gateway keeps them; their tokens to TOKENS, one a
# line. FORMAT sqlite: the CLI's table, from cli/store.c's create_sql and
# its APP_ID and SCHEMA (so that xmppbots takes the file as its own);
# FORMAT prosody: Prosody's internal store of the component's domain,
# return { ["JID"] = "TOKEN 1 0"; ... } as util.datamanager writes it.
make_store() {
    "$py" - "$top/cli/store.c" "$gw" "$@" << 'EOF'
import re, secrets, sqlite3, sys
store_c, bot, fmt, n, path, tokfile = sys.argv[1:]
n = int(n)
tokens = set()
while len(tokens) < n:
    tokens.add(secrets.token_urlsafe(18))  # 18 bytes: 24 characters
tokens = list(tokens)
rows = [(f"user{k}@localhost", f"{t} 1 0") for k, t in enumerate(tokens)]
if fmt == "sqlite":
    src = open(store_c).read()
    defs = dict(re.findall(r"#define (APP_ID|SCHEMA) (\d+)", src))
    m = re.search(r"create_sql\[\] =(.*?);\n", src, re.S)
    if len(defs) != 2 or not m:
        sys.exit(f"cannot read the schema from {store_c}")
    body = m.group(1).replace("APP_ID_SQL", f'"{defs["APP_ID"]}"')
    body = body.replace("SCHEMA_SQL", f'"{defs["SCHEMA"]}"')
    sql = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', body))
    db = sqlite3.connect(path)
    db.executescript(sql)
    with db:
        db.executemany("INSERT INTO kv (bot, key, value) VALUES (?, ?, ?)",
                       ((bot, k, v) for k, v in rows))
    db.close()
else:
    with open(path, "w") as f:
        f.write("return {\n")
        for k, v in rows:
            f.write(f'\t["{k}"] = "{v}";\n')
        f.write("};\n")
with open(tokfile, "w") as f:
    f.write("".join(t + "\n" for t in tokens))
EOF
}

# check_pages BASE_URL HOST_HEADER TOKENS: 100 sampled tokens' JSON and 10
# HTML pages answer 200 (JSON with a "show"), an unknown token 404.
check_pages() {
    "$py" - "$@" << 'EOF'
import http.client, json, random, sys, urllib.parse
base, host, tokfile = sys.argv[1:]
u = urllib.parse.urlsplit(base)
tokens = open(tokfile).read().split()
c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
def get(path):
    c.request("GET", u.path + path, headers={"Host": host})
    r = c.getresponse()
    return r.status, r.read()
bad = []
sample = random.sample(tokens, min(100, len(tokens)))
for t in sample:
    st, body = get(t + ".json")
    if st != 200 or "show" not in json.loads(body):
        bad.append(f"{t}.json: {st}")
for t in sample[:10]:
    st, body = get(t)
    if st != 200 or b"<html" not in body.lower():
        bad.append(f"{t}: {st}")
st, _ = get("A" * 24 + ".json")
if st != 404:
    bad.append(f"an unknown token: {st}, not 404")
if bad:
    sys.exit("pages not served as expected: " + ", ".join(bad[:5]))
print(f"{len(sample)} sampled tokens' JSON and {min(10, len(sample))} HTML pages: 200; an unknown token: 404")
EOF
}

# The wrk script: each request a random registered token's page.
cat > "$tmp/pages.lua" << 'EOF'
-- wrk ... URL -- TOKENS PREFIX SUFFIX
local tokens, prefix, suffix = {}, "/", ""
function init(args)
    for line in io.lines(args[1]) do tokens[#tokens + 1] = line end
    prefix, suffix = args[2], args[3] or ""
    -- Each thread its own sequence.
    local addr = tostring(tokens):match("0x(%x+)") or "1"
    math.randomseed((tonumber(addr, 16) + os.time()) % 2147483647)
end
function request()
    return wrk.format(nil, prefix .. tokens[math.random(#tokens)] .. suffix)
end
function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format('WRKJSON {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
        '"p50_us": %.0f, "p90_us": %.0f, "p99_us": %.0f, "max_us": %.0f, "mean_us": %.1f, ' ..
        '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}}\n',
        summary.requests, summary.duration, summary.bytes,
        latency:percentile(50), latency:percentile(90), latency:percentile(99),
        latency.max, latency.mean, e.connect, e.read, e.write, e.status, e.timeout))
end
EOF

results="$tmp/results.jsonl"
: > "$results"

# load HOST SERVER_PID URL HOST_HEADER PREFIX TOKENS: wrk at every
# concurrency for every page type, one JSON line each in $results.
load() {
    local host=$1 spid=$2 url=$3 hh=$4 prefix=$5 tokens=$6 page c suffix t0 t1 c0 c1 line
    say "$host: warm-up (2 s, 10 connections)"
    timeout -k 5 30 wrk -t 1 -c 10 -d 2s -H "Host: $hh" -s "$tmp/pages.lua" "$url" \
        -- "$tokens" "$prefix" .json > /dev/null 2>&1 || true
    for page in $pages; do
        suffix=""
        [ "$page" = html ] || suffix=.json
        for c in $conns; do
            if [ $((SECONDS + duration + 10)) -gt "$deadline" ]; then
                echo "webpresence.sh: $host $page c=$c skipped: past --max-time $max_time" >&2
                printf '{"host": "%s", "page": "%s", "connections": %d, "skipped": "max-time"}\n' \
                    "$host" "$page" "$c" >> "$results"
                continue
            fi
            children_s > "$tmp/c0"
            t0=$(ticks "$spid")
            timeout -k 5 $((duration + 30)) wrk -t $((threads < c ? threads : c)) -c "$c" \
                -d "${duration}s" --timeout 10s -H "Host: $hh" -s "$tmp/pages.lua" "$url" \
                -- "$tokens" "$prefix" "$suffix" > "$tmp/wrk.out" 2>&1 || true
            t1=$(ticks "$spid")
            children_s > "$tmp/c1"
            c0=$(cat "$tmp/c0") c1=$(cat "$tmp/c1")
            line=$(sed -n 's/^WRKJSON //p' "$tmp/wrk.out")
            if [ -z "$line" ]; then
                cat "$tmp/wrk.out" >&2
                die "wrk gave no result ($host $page c=$c)"
            fi
            printf '{"host": "%s", "page": "%s", "connections": %d, "threads": %d, "server_cpu_s": %s, "loadgen_cpu_s": %s, "wrk": %s}\n' \
                "$host" "$page" "$c" $((threads < c ? threads : c)) \
                "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 100 }')" \
                "$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.2f", b - a }')" \
                "$line" >> "$results"
            tail -n 1 "$results" | "$py" -c 'import json, sys
r = json.loads(sys.stdin.read())
w = r["wrk"]
print("%-8s %-5s c=%-4d %9.0f pages/s  p50 %.2f ms  p99 %.2f ms  max %.2f ms  errors %d" % (
    r["host"], r["page"], r["connections"], w["requests"] / w["duration_us"] * 1e6,
    w["p50_us"] / 1000, w["p99_us"] / 1000, w["max_us"] / 1000, sum(w["errors"].values())))' >&2
        done
    done
}

# memory HOST N RSS_KB [KEY VALUE...]: one JSON line in $results.
memory() {
    local host=$1 n=$2 rss=$3 extra=""
    shift 3
    while [ $# -ge 2 ]; do extra+=", \"$1\": $2"; shift 2; done
    printf '{"host": "%s", "users": %d, "rss_kb": %d%s}\n' "$host" "$n" "$rss" "$extra" >> "$results"
    say "$host: $n users: RSS $rss kB${extra:+ (${extra#, })}"
}

# --- the CLI gateway, a component of a private Prosody --------------------------
# cli_gateway N: xmppbots webpresence on a fresh database of N users,
# online and idle; its PID in gw_pid.
cli_gateway() {
    local n=$1 db="$tmp/cli-$1.db"
    make_store sqlite "$n" "$db" "$tmp/cli-$n.tokens"
    # --duration: a bound on its life should this script die unseen.
    "$bin" webpresence --component "$gw" --secret "$secret" --host 127.0.0.1 \
        --port "$cport" --http "127.0.0.1:$wport" --db "$db" --no-progress \
        --stats "$tmp/cli-$n.json" --stats-interval 0.5 --duration "$max_time" \
        > "$tmp/cli-$n.out" 2>&1 &
    gw_pid=$!
    # shellcheck disable=SC2016 # expanded by the inner bash
    wait_for 60 bash -c 'grep -q "\"online\": 1" "$1" 2> /dev/null' _ "$tmp/cli-$n.json" || {
        cat "$tmp/cli-$n.out" >&2
        die "the CLI gateway with $n users did not get online in 60 s"
    }
    wait_idle "$gw_pid"
}
cli_stop() {
    kill -TERM "$gw_pid"
    wait "$gw_pid" || true
    gw_pid=""
}

bench_cli() {
    local d="$tmp/p-cli" url="http://127.0.0.1:$wport/" rss0 rss1
    say "cli: a private Prosody on 127.0.0.1:$port, component $gw on $cport, pages on $wport"
    prosody_dirs+=" $d"
    XB_PROSODY_COMPONENT="$gw $cport $secret" \
        timeout 60 "$top/tests/prosody.sh" start "$d" "$port" plain > "$tmp/p-cli.start" 2>&1 ||
        { cat "$tmp/p-cli.start" >&2; die "Prosody did not start"; }
    cli_gateway 0
    rss0=$(rss_kb "$gw_pid")
    memory cli 0 "$rss0"
    cli_stop
    say "cli: $users users written into $tmp/cli-$users.db"
    cli_gateway "$users"
    check_pages "$url" "127.0.0.1:$wport" "$tmp/cli-$users.tokens" >&2 ||
        die "the CLI gateway did not load the $users users"
    rss1=$(rss_kb "$gw_pid")
    memory cli "$users" "$rss1" db_bytes "$(stat -c %s "$tmp/cli-$users.db")"
    load cli "$gw_pid" "$url" "127.0.0.1:$wport" / "$tmp/cli-$users.tokens"
    memory cli "$users" "$(rss_kb "$gw_pid")" after_load 1
    cli_stop
    "$top/tests/prosody.sh" stop "$d"
}

# --- the in-server gateway: mod_bots on a component host of Prosody ---------------
mkdir -p "$tmp/plugins"
[ ! -f "$so" ] || cp "$top/mod_bots/mod_bots.lua" "$so" "$tmp/plugins/"

# prosody_gateway N: a fresh Prosody whose internal store holds N
# registrations, with the gateway online and idle; its directory in pdir.
prosody_gateway() {
    local n=$1
    pdir="$tmp/p-$n"
    mkdir -p "$pdir/data/presence%2elocalhost"
    make_store prosody "$n" "$pdir/data/presence%2elocalhost/bots_webpresence.dat" \
        "$tmp/prosody-$n.tokens"
    prosody_dirs+=" $pdir"
    XB_PROSODY_MODULES="$tmp/plugins" \
        XB_PROSODY_EXTRA="http_ports = { $hport }; http_interfaces = { \"127.0.0.1\" }" \
        XB_PROSODY_TAIL="Component \"$gw\" \"bots\"
    bots_webpresence = { refresh = 5 }" \
        timeout 60 "$top/tests/prosody.sh" start "$pdir" "$port" plain > "$tmp/p-$n.start" 2>&1 ||
        { cat "$tmp/p-$n.start" >&2; die "Prosody did not start"; }
    wait_for 120 grep -q "1 bots online on $gw" "$pdir/prosody.log" || {
        tail -n 20 "$pdir/prosody.log" "$pdir/prosody.err" >&2
        die "the in-server gateway with $n users did not get online in 120 s"
    }
    wait_idle "$(cat "$pdir/prosody.pid")"
}
# lua_gc DIR: a full collection in that Prosody; prints its Lua heap in kB.
lua_gc() {
    "$top/tests/prosody.sh" shell "$1" 30 \
        '>collectgarbage("collect"); collectgarbage("collect"); return math.floor(collectgarbage("count"))' |
        grep -o '[0-9][0-9]*' | tail -n 1
}

bench_prosody() {
    local url="http://127.0.0.1:$hport/bots/" ppid rss0 rss1 heap0 heap1 pre
    say "prosody: mod_bots on Component \"$gw\", HTTP on 127.0.0.1:$hport"
    prosody_gateway 0
    ppid=$(cat "$pdir/prosody.pid")
    pre=$(rss_kb "$ppid")
    heap0=$(lua_gc "$pdir")
    sleep 1
    rss0=$(rss_kb "$ppid")
    memory prosody 0 "$rss0" rss_kb_before_gc "$pre" lua_heap_kb "${heap0:-null}"
    "$top/tests/prosody.sh" stop "$pdir"
    say "prosody: $users users written into Prosody's internal store (bots_webpresence.dat)"
    prosody_gateway "$users"
    ppid=$(cat "$pdir/prosody.pid")
    check_pages "$url" "$gw:$hport" "$tmp/prosody-$users.tokens" >&2 ||
        die "the in-server gateway did not load the $users users"
    pre=$(rss_kb "$ppid")
    heap1=$(lua_gc "$pdir")
    sleep 1
    rss1=$(rss_kb "$ppid")
    memory prosody "$users" "$rss1" rss_kb_before_gc "$pre" lua_heap_kb "${heap1:-null}" \
        store_bytes "$(stat -c %s "$pdir/data/presence%2elocalhost/bots_webpresence.dat")"
    load prosody "$ppid" "$url" "$gw:$hport" /bots/ "$tmp/prosody-$users.tokens"
    memory prosody "$users" "$(rss_kb "$ppid")" after_load 1
    "$top/tests/prosody.sh" stop "$pdir"
}

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
t_start=$SECONDS
for h in $hosts; do
    "bench_$h"
done

# --- the report -------------------------------------------------------------------
rev=$(git -C "$top" rev-parse --short HEAD 2> /dev/null || echo unknown)
[ -z "$(git -C "$top" status --porcelain --untracked-files=no 2> /dev/null)" ] || rev="$rev (with uncommitted changes)"
pkg() { dpkg-query -W -f='${Version}' "$1" 2> /dev/null || echo unknown; }
WP_DATE=$(date -u '+%Y-%m-%d %H:%M:%S UTC') WP_GIT=$rev WP_CMD=$command WP_USERS=$users \
    WP_DURATION=$duration WP_THREADS=$threads WP_CORES=$(nproc) \
    WP_PROSODY=$(pkg prosody) WP_WRK=$(pkg wrk) WP_H2O=$(pkg libh2o0.13) \
    WP_SQLITE=$(pkg libsqlite3-0) WP_LOAD_START=$load_start \
    WP_LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg) WP_RUN_S=$((SECONDS - t_start)) \
    "$py" - "$results" "$report" "$json" << 'EOF'
import json, os, platform, sys
results, report, out = sys.argv[1:]
rows = [json.loads(l) for l in open(results)]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
            if l.startswith("model name")), "unknown")
mem = next(int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal"))
E = os.environ
meta = {
    "date": E["WP_DATE"], "git": E["WP_GIT"], "command": E["WP_CMD"].strip(),
    "users": int(E["WP_USERS"]),
    "duration_s": int(E["WP_DURATION"]), "threads": int(E["WP_THREADS"]),
    "cores": int(E["WP_CORES"]), "cpu": cpu, "ram_mb": mem // 1024,
    "kernel": platform.release(), "prosody": E["WP_PROSODY"], "wrk": E["WP_WRK"],
    "h2o": E["WP_H2O"], "sqlite": E["WP_SQLITE"],
    "loadavg_start": E["WP_LOAD_START"], "loadavg_end": E["WP_LOAD_END"],
    "run_s": int(E["WP_RUN_S"]),
}
hosts = {"cli": "xmppbots webpresence (component; H2O; SQLite)",
         "prosody": "mod_bots in Prosody (Prosody's HTTP server; internal storage)"}
memory, loads = {}, []
for r in rows:
    if "wrk" in r:
        w = r["wrk"]
        s = w["duration_us"] / 1e6
        r.update(pages_per_s=round(w["requests"] / s, 1),
                 p50_ms=w["p50_us"] / 1000, p99_ms=w["p99_us"] / 1000,
                 max_ms=w["max_us"] / 1000, errors=sum(w["errors"].values()),
                 bytes_per_page=round(w["bytes"] / max(w["requests"], 1)),
                 server_cpu_pct=round(100 * r["server_cpu_s"] / s, 1),
                 server_us_per_page=round(r["server_cpu_s"] * 1e6 / max(w["requests"], 1), 1),
                 loadgen_cpu_pct=round(100 * r["loadgen_cpu_s"] / s, 1))
        loads.append(r)
    elif "skipped" in r:
        loads.append(r)
    else:
        m = memory.setdefault(r["host"], {})
        key = "after_load" if r.get("after_load") else r["users"]
        m[key] = r
summary = {}
for h, m in memory.items():
    if 0 in m and meta["users"] in m:
        n = meta["users"]
        s = {"rss_kb_0": m[0]["rss_kb"], "rss_kb_n": m[n]["rss_kb"],
             "bytes_per_user": round((m[n]["rss_kb"] - m[0]["rss_kb"]) * 1024 / n, 1)}
        if "after_load" in m:
            s["rss_kb_after_load"] = m["after_load"]["rss_kb"]
        if h == "prosody":
            s["bytes_per_user_before_gc"] = round(
                (m[n]["rss_kb_before_gc"] - m[0]["rss_kb_before_gc"]) * 1024 / n, 1)
            if m[n].get("lua_heap_kb") is not None and m[0].get("lua_heap_kb") is not None:
                s["lua_heap_bytes_per_user"] = round(
                    (m[n]["lua_heap_kb"] - m[0]["lua_heap_kb"]) * 1024 / n, 1)
        summary[h] = s
json.dump({"meta": meta, "memory": summary, "memory_samples": rows and
           [r for r in rows if "rss_kb" in r], "load": loads},
          open(out, "w"), indent=1)

L = []
L.append(f"# Web presence gateway: pages/s, latency, memory per registered user\n")
L.append(f"{meta['date']}, git {meta['git']}, {meta['run_s']} s. Machine: {meta['cores']} cores "
         f"({cpu}), {meta['ram_mb']} MB RAM, Linux {meta['kernel']}; load average "
         f"{meta['loadavg_start']} at the start, {meta['loadavg_end']} at the end "
         "(other work on the machine slows both the server and wrk).")
L.append(f"Prosody {meta['prosody']}, wrk {meta['wrk']}, H2O {meta['h2o']}, SQLite {meta['sqlite']}. "
         f"Command: `{meta['command']}`.\n")
L.append(f"{meta['users']} registered users (user0..user{meta['users'] - 1}@localhost, written "
         "into the gateway's store before it starts; all offline, so every page is an "
         "offline one). Load: wrk on the same machine, keep-alive connections, each request "
         f"a random registered token's page, {meta['duration_s']} s per run, "
         f"{meta['threads']} wrk thread(s). Latency is wrk's, per request, from its "
         "sending to the end of the answer.\n")
L.append("## Memory per registered user\n")
L.append("| host | RSS, 0 users | RSS, N users | per user | RSS after the load |")
L.append("| --- | ---: | ---: | ---: | ---: |")
for h, s in summary.items():
    L.append(f"| {hosts[h]} | {s['rss_kb_0']} kB | {s['rss_kb_n']} kB | "
             f"{s['bytes_per_user']:.0f} bytes | {s.get('rss_kb_after_load', '-')} kB |")
if "prosody" in summary:
    s = summary["prosody"]
    L.append(f"\nProsody's RSS is taken after a full Lua collection (admin shell), in both runs; "
             f"before it, the difference was {s['bytes_per_user_before_gc']:.0f} bytes per user."
             + (f" Prosody's Lua heap (after the collection) grew by "
                f"{s['lua_heap_bytes_per_user']:.0f} bytes per user; the rest is outside it "
                "(the gateway's C model, malloc)."
                if "lua_heap_bytes_per_user" in s else ""))
if "cli" in summary:
    L.append("\nThe CLI's RSS includes SQLite's page cache of the database it read at start.")
L.append("\n## Pages per second and latency\n")
L.append("| host | page | connections | pages/s | p50 ms | p99 ms | max ms | errors | bytes/page | server CPU | server us/page | wrk CPU |")
L.append("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for r in loads:
    if "skipped" in r:
        L.append(f"| {r['host']} | {r['page']} | {r['connections']} | skipped (--max-time) | | | | | | | | |")
        continue
    L.append(f"| {r['host']} | {r['page']} | {r['connections']} | {r['pages_per_s']:.0f} | "
             f"{r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['max_ms']:.2f} | {r['errors']} | "
             f"{r['bytes_per_page']} | {r['server_cpu_pct']:.0f}% | "
             f"{r['server_us_per_page']:.1f} | {r['loadgen_cpu_pct']:.0f}% |")
L.append("\nserver CPU: the xmppbots process (cli) or Prosody (prosody) over the run, "
         "100% = one core (utime + stime, 10 ms ticks); server us/page: that CPU time per "
         "page served, the figure least moved by the neighbours; wrk CPU likewise. Below "
         "100% server CPU the gateway was not the bottleneck: wrk or the machine was. "
         "errors: wrk's connect, read, write and timeout errors and answers with a status "
         "of 400 or more.")
open(report, "w").write("\n".join(L) + "\n")
EOF
echo
cat "$report"
echo "(written to $report and $json)"
