#!/usr/bin/env bash
# What XEP-0198 stream management costs and buys the xmppbots CLI (a
# benchmark: it prints numbers and writes a report, it asserts nothing).
# Everything runs on 127.0.0.1 against fresh private Prosodys (tests/prosody.sh,
# mod_smacks loaded), each started from a copy of one data directory that
# holds all accounts, so PBKDF2 per account is paid once.
#  echo    CPU per echoed message with --sm resume and --sm off (echo bot and
#          load bots alike), alternating, ROUNDS rounds each: the echo bot
#          process's and Prosody's utime+stime from /proc/PID/stat over a run
#          of LOAD_BOTS x MESSAGES/LOAD_BOTS messages (minus a warm-up with the
#          same logins), over the messages echoed; the load's RTT p50 and
#          rate. With Prosody's default Nagle setting and with
#          network_settings.nagle = false (NAGLE="on off").
#  memory  IDLE_COUNTS idle echo bots, --sm resume vs off: RSS of the xmppbots
#          process and of Prosody once all are online and settled, minus the
#          same with 1 bot, over the bots; sm_queue_bytes from the stats.
#  resume  RESUME_BOTS echo bots through tests/faultproxy.py; once all are
#          online with stream management, 'cut rst all', then the time until
#          the stats (written every 0.1 s) show every bot resumed and online,
#          for each --connect-rate in RESUME_RATES (it paces reconnections)
#          and each mode in RESUME_MODES (plain, tls).
# Plain TCP (--tls none --allow-plain) except where RESUME_MODES says tls.
#   bench/sm.sh [BUILD_DIR]      (default: build; or env XMPPBOTS=path/to/xmppbots)
#   env: PARTS="echo memory resume" ROUNDS=3 MESSAGES=20000 LOAD_BOTS=10
#        WINDOW=8 NAGLE="on off" IDLE_COUNTS="1000 5000"
#        IDLE_RATE=500 SETTLE=3 RESUME_BOTS=1000 RESUME_RATES="1000 100"
#        RESUME_MODES="plain tls" OUT=bench/results
# Writes OUT/sm.md (the report) and OUT/sm.json (every raw number).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
bin=${XMPPBOTS:-$build/cli/xmppbots}
prosody_sh="$top/tests/prosody.sh"
py=/usr/bin/python3
parts=${PARTS:-"echo memory resume"}
rounds=${ROUNDS:-3}
messages=${MESSAGES:-20000}
load_bots=${LOAD_BOTS:-10}
window=${WINDOW:-8}
nagles=${NAGLE:-"on off"}
idle_counts=${IDLE_COUNTS:-"1000 5000"}
idle_rate=${IDLE_RATE:-500}
settle=${SETTLE:-3}
resume_bots=${RESUME_BOTS:-1000}
resume_rates=${RESUME_RATES:-"1000 100"}
resume_modes=${RESUME_MODES:-"plain tls"}
out=${OUT:-$top/bench/results}
hz=$(getconf CLK_TCK)
per_load=$((messages / load_bots))

[ -x "$bin" ] || { echo "no xmppbots at $bin (give BUILD_DIR or XMPPBOTS)" >&2; exit 1; }
mkdir -p "$out"
tmp=$(mktemp -d)
dir="$tmp/prosody"
raw="$tmp/raw"     # one JSON object a line, turned into sm.json and sm.md
bot_pid="" proxy_pid=""
t_start=$(date +%s)

stop_bot() {
    [ -n "$bot_pid" ] || return 0
    kill -TERM "$bot_pid" 2> /dev/null || true
    for _ in $(seq 1 100); do
        kill -0 "$bot_pid" 2> /dev/null || break
        sleep 0.1
    done
    kill -KILL "$bot_pid" 2> /dev/null || true
    wait "$bot_pid" 2> /dev/null || true
    bot_pid=""
}
stop_proxy() {
    [ -n "$proxy_pid" ] || return 0
    kill -TERM "$proxy_pid" 2> /dev/null || true
    wait "$proxy_pid" 2> /dev/null || true
    proxy_pid=""
}
stop_prosody() { bash "$prosody_sh" stop "$dir" > /dev/null 2>&1 || true; }
cleanup() {
    stop_bot
    stop_proxy
    stop_prosody
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
ppid_() { cat "$dir/prosody.pid.launcher"; }
# jnum FILE KEY: a top-level number from a --stats file (0 if absent).
jnum() { grep -oP "^  \"$2\": \K[0-9.]+" "$1" 2> /dev/null || echo 0; }
# rtt FILE KEY: a field of the load's "rtt" object.
rtt() { grep -oP "\"rtt\": \{.*\"$2\": \K[0-9.]+" "$1" 2> /dev/null || echo 0; }
port_busy() { (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null; }
# wait_for SECONDS CMD...: polls CMD every 0.1 s; false on timeout.
wait_for() {
    local end
    end=$(awk -v t="$(now)" -v s="$1" 'BEGIN { printf "%.1f", t + s }')
    shift
    until "$@"; do
        awk -v t="$(now)" -v e="$end" 'BEGIN { exit !(t > e) }' && return 1
        [ -z "$bot_pid" ] || kill -0 "$bot_pid" 2> /dev/null || return 1
        sleep 0.1
    done
}
record() { echo "$1" >> "$raw"; }
# all_up FILE N SM: N bots online, and with stream management unless SM=off.
all_up() {
    [ "$(jnum "$1" online)" -ge "$2" ] &&
        { [ "$3" = off ] || [ "$(jnum "$1" sm_enabled)" -ge "$2" ]; }
}

# The accounts, once: echobot0.., u0.. for the load, bot0.. for the idle
# and resume runs.
max_bots=$resume_bots
for n in $idle_counts; do [ "$n" -le "$max_bots" ] || max_bots=$n; done
port=""
# start_prosody MODE [NAGLE]: a fresh server on a free port 24000-31999
# with the template's accounts.
start_prosody() {
    local mode=$1 nagle=${2:-on} extra="" try p
    stop_prosody
    rm -rf "$dir"
    mkdir -p "$dir"
    [ ! -d "$tmp/template/data" ] || cp -a "$tmp/template/data" "$dir/data"
    [ "$nagle" = on ] || extra='network_settings = { tcp_backlog = 4096, nagle = false }'
    for try in 0 1 2 3 4 5 6 7 8 9; do
        p=$((24000 + ($$ + RANDOM + try * 997) % 8000))
        port_busy "$p" && continue
        if XB_PROSODY_EXTRA=$extra timeout 60 bash "$prosody_sh" start "$dir" "$p" "$mode" \
            > "$tmp/prosody-start.log" 2>&1; then
            port=$p
            return 0
        fi
        stop_prosody
    done
    cat "$tmp/prosody-start.log" >&2
    echo "Prosody did not start" >&2
    exit 1
}
# conn_args MODE [PORT]: how the CLI reaches the server.
conn_args() {
    conn=(--host 127.0.0.1 --port "${2:-$port}" --password pw)
    if [ "$1" = tls ]; then
        conn+=(--cafile "$dir/certs/localhost.crt")
    else
        conn+=(--tls none --allow-plain)
    fi
}

echo "accounts: 1 echo, $load_bots load, $max_bots bots" >&2
start_prosody plain
bash "$prosody_sh" users "$dir" echobot 1 pw
bash "$prosody_sh" users "$dir" u "$load_bots" pw
bash "$prosody_sh" users "$dir" bot "$max_bots" pw
stop_prosody
mkdir -p "$tmp/template"
cp -a "$dir/data" "$tmp/template/data"
: > "$raw"
load0=$(cut -d' ' -f1-3 /proc/loadavg)

# --- echo: CPU per echo, SM on and off, alternating ---------------------------
# echo_run SM NAGLE ROUND
echo_run() {
    local sm=$1 nagle=$2 round=$3 pp c0 c1 b0 b1 e0 e1 w0 w1 lt load_cpu
    start_prosody plain "$nagle"
    pp=$(ppid_)
    conn_args plain
    rm -f "$tmp/echo.json" "$tmp/load.json" "$tmp/warm.json"
    "$bin" echo --jid echobot0@localhost/e --duration 900 "${conn[@]}" --sm "$sm" --stats "$tmp/echo.json" --stats-interval 0.1 \
        --no-progress > "$tmp/echo.out" 2>&1 &
    bot_pid=$!
    wait_for 30 all_up "$tmp/echo.json" 1 off ||
        { echo "echo bot not online" >&2; cat "$tmp/echo.out" >&2; exit 1; }
    load=(timeout -k 5 300 "$bin" load --jid 'u%d@localhost' --count "$load_bots"
        "${conn[@]}" --sm "$sm" --to echobot0@localhost --window "$window"
        --connect-rate 1000 --no-progress)
    # Warm-up with the same logins: its Prosody CPU is subtracted.
    w0=$(ticks "$pp")
    "${load[@]}" --messages 10 --stats "$tmp/warm.json" > "$tmp/warm.out" 2>&1 || true
    w1=$(ticks "$pp")
    sleep 0.3
    c0=$(ticks "$pp")
    b0=$(ticks "$bot_pid")
    e0=$(jnum "$tmp/echo.json" echoed)
    lt=$( { TIMEFORMAT='%3U %3S'; time "${load[@]}" --messages "$per_load" \
        --stats "$tmp/load.json" > "$tmp/load.out" 2>&1 || true; } 2>&1)
    c1=$(ticks "$pp")
    b1=$(ticks "$bot_pid")
    sleep 0.3 # one more stats write of the echo bot
    e1=$(jnum "$tmp/echo.json" echoed)
    load_cpu=$(echo "$lt" | awk '{ printf "%.3f", $1 + $2 }')
    record "$($py - "$tmp/load.json" "$tmp/warm.json" "$tmp/echo.json" << EOF
import json, sys
load, warm, echo = (json.load(open(f)) for f in sys.argv[1:4])
hz = $hz
echoed = $e1 - $e0
wecho = warm.get("answered", 0)
pros = ($c1 - $c0 - ($w1 - $w0)) / hz
print(json.dumps({"part": "echo", "sm": "$sm", "nagle": "$nagle", "round": $round,
    "sent": load.get("sent", 0), "answered": load.get("answered", 0),
    "lost": load.get("lost", 0), "echoed": echoed,
    "rtt_p50_ms": load.get("rtt", {}).get("p50_ms"),
    "rtt_p99_ms": load.get("rtt", {}).get("p99_ms"),
    "per_s": load.get("rtt", {}).get("per_s"),
    "echo_cpu_s": ($b1 - $b0) / hz,
    "echo_us_per_echo": 1e6 * ($b1 - $b0) / hz / echoed if echoed else None,
    "prosody_cpu_s": ($c1 - $c0) / hz, "warmup_prosody_cpu_s": ($w1 - $w0) / hz,
    "warmup_echoes": wecho,
    "prosody_us_per_echo": 1e6 * pros / (echoed - wecho) if echoed > wecho else None,
    "load_cpu_s": $load_cpu,
    "load_us_per_echo": 1e6 * $load_cpu / echoed if echoed else None,
    "echo_sm_acks": echo.get("sm_acks"), "load_sm_acks": load.get("sm_acks"),
    "prosody_rss_kb": $(rss_kb "$pp")}))
EOF
)"
    tail -n 1 "$raw" >&2
    stop_bot
    stop_prosody
}

if [[ " $parts " == *" echo "* ]]; then
    for nagle in $nagles; do
        for round in $(seq 1 "$rounds"); do
            for sm in resume off; do
                echo_run "$sm" "$nagle" "$round"
            done
        done
    done
fi

# --- memory: idle bots, SM on and off -----------------------------------------
# idle_run SM N
idle_run() {
    local sm=$1 n=$2 pp p0 t0 secs ok=1
    start_prosody plain
    pp=$(ppid_)
    sleep 1
    p0=$(rss_kb "$pp")
    conn_args plain
    rm -f "$tmp/idle.json"
    t0=$(now)
    "$bin" echo --jid 'bot%d@localhost/b' --count "$n" --duration 900 "${conn[@]}" \
        --sm "$sm" --connect-rate "$idle_rate" --retries 100 --stats "$tmp/idle.json" \
        --stats-interval 0.5 --no-progress > "$tmp/idle.out" 2>&1 &
    bot_pid=$!
    wait_for $((n / idle_rate + 120)) all_up "$tmp/idle.json" "$n" "$sm" || ok=0
    secs=$(since "$t0")
    sleep "$settle"
    sleep 0.6 # a fresh stats file
    j="{\"part\": \"memory\", \"sm\": \"$sm\", \"bots\": $n, \"all_online\": $ok,"
    j+=" \"online_s\": $secs,"
    for k in online sm_enabled sm_queued sm_queue_bytes; do
        j+=" \"$k\": $(jnum "$tmp/idle.json" "$k"),"
    done
    j+=" \"bot_rss_kb\": $(rss_kb "$bot_pid"),"
    j+=" \"bot_cpu_s\": $(awk -v c="$(ticks "$bot_pid")" -v hz="$hz" 'BEGIN { print c / hz }'),"
    j+=" \"prosody_rss_before_kb\": $p0, \"prosody_rss_kb\": $(rss_kb "$pp")}"
    record "$j"
    tail -n 1 "$raw" >&2
    stop_bot
    stop_prosody
}

if [[ " $parts " == *" memory "* ]]; then
    for n in 1 $idle_counts; do
        for sm in resume off; do
            idle_run "$sm" "$n"
        done
    done
fi

# --- resume: RESUME_BOTS cut at once ------------------------------------------
# proxy_cmd CMD: one control command, its JSON answer (bash's /dev/tcp: no
# interpreter start between the clock and the cut).
proxy_cmd() {
    local answer
    exec 4<> "/dev/tcp/127.0.0.1/$cport"
    printf '%s\n' "$1" >&4
    read -r -t 10 answer <&4 || true
    exec 4>&-
    echo "$answer"
}
# resume_run MODE RATE
resume_run() {
    local mode=$1 rate=$2 n=$resume_bots pp t0 t_online t_cut first="" t_all="" cut
    local c0 c1 b0 b1 r f s j
    start_prosody "$mode"
    pp=$(ppid_)
    "$py" "$top/tests/faultproxy.py" --listen 0 --target "$port" --control 0 \
        --lifetime 600 > "$tmp/proxy.out" 2> "$tmp/proxy.err" &
    proxy_pid=$!
    wait_for 10 grep -q ready "$tmp/proxy.out" || { echo "proxy not ready" >&2; exit 1; }
    pport=$("$py" -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["listen"])' "$tmp/proxy.out")
    cport=$("$py" -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["control"])' "$tmp/proxy.out")
    conn_args "$mode" "$pport"
    rm -f "$tmp/res.json"
    t0=$(now)
    "$bin" echo --jid 'bot%d@localhost/r' --count "$n" --duration 900 "${conn[@]}" \
        --sm resume --connect-rate "$rate" --retries 100 --stats "$tmp/res.json" \
        --stats-interval 0.1 --no-progress > "$tmp/res.out" 2>&1 &
    bot_pid=$!
    wait_for $((n / rate + 120)) all_up "$tmp/res.json" "$n" resume ||
        { echo "resume: not all $n online with SM" >&2; tail "$tmp/res.out" >&2; }
    t_online=$(since "$t0")
    sleep 2
    c0=$(ticks "$pp")
    b0=$(ticks "$bot_pid")
    t_cut=$(now)
    cut=$(proxy_cmd "cut rst all" | grep -oP '"cut": \K[0-9]+' || echo 0)
    # Poll the stats file (rewritten every 0.1 s) until every bot resumed.
    for _ in $(seq 1 $((10 * (n / rate + 120)))); do
        r=$(jnum "$tmp/res.json" sm_resumes)
        [ -n "$first" ] || [ "$r" -eq 0 ] || first=$(since "$t_cut")
        if [ "$r" -ge "$n" ] && [ "$(jnum "$tmp/res.json" online)" -ge "$n" ]; then
            t_all=$(since "$t_cut")
            break
        fi
        f=$(jnum "$tmp/res.json" sm_resume_failures)
        [ $((r + f)) -lt "$n" ] || [ "$(jnum "$tmp/res.json" online)" -lt "$n" ] || break
        kill -0 "$bot_pid" 2> /dev/null || break
        sleep 0.05
    done
    c1=$(ticks "$pp")
    b1=$(ticks "$bot_pid")
    sleep 0.5
    s="$tmp/res.json"
    j="{\"part\": \"resume\", \"mode\": \"$mode\", \"connect_rate\": $rate, \"bots\": $n,"
    j+=" \"login_s\": $t_online, \"cut\": $cut, \"first_resume_s\": ${first:-null},"
    j+=" \"all_resumed_s\": ${t_all:-null}, \"online\": $(jnum "$s" online),"
    for k in sm_enabled sm_resumes sm_resume_failures sm_lost sm_duplicated sm_resent \
        logins reconnects gave_up; do
        j+=" \"$k\": $(jnum "$s" "$k"),"
    done
    j+=" \"prosody_cpu_s\": $(awk -v c=$((c1 - c0)) -v hz="$hz" 'BEGIN { print c / hz }'),"
    j+=" \"bot_cpu_s\": $(awk -v c=$((b1 - b0)) -v hz="$hz" 'BEGIN { print c / hz }'),"
    j+=" \"prosody_rss_kb\": $(rss_kb "$pp"), \"bot_rss_kb\": $(rss_kb "$bot_pid")}"
    record "$j"
    tail -n 1 "$raw" >&2
    stop_bot
    stop_proxy
    stop_prosody
}

if [[ " $parts " == *" resume "* ]]; then
    for mode in $resume_modes; do
        for rate in $resume_rates; do
            resume_run "$mode" "$rate"
        done
    done
fi

# --- the report ----------------------------------------------------------------
load1=$(cut -d' ' -f1-3 /proc/loadavg)
cores=$(nproc)
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
pversion=$(dpkg-query -W -f='${Version}' prosody 2> /dev/null || echo '?')
rev=$(git -C "$top" describe --always --dirty 2> /dev/null || echo '?')
built=$(date -u -r "$bin" '+%Y-%m-%d %H:%M UTC')
export SM_RAW=$raw SM_OUT=$out SM_SECS=$(($(date +%s) - t_start)) SM_LOAD0=$load0 \
    SM_LOAD1=$load1 SM_ROUNDS=$rounds SM_MESSAGES=$messages SM_LOAD_BOTS=$load_bots \
    SM_WINDOW=$window SM_IDLE_RATE=$idle_rate SM_SETTLE=$settle \
    SM_CPU=$cpu SM_CORES=$cores SM_PROSODY=$pversion SM_REV=$rev SM_BIN=$bin SM_BUILT=$built
"$py" - << 'EOF'
import json, os, statistics as st, time
E = os.environ
rows = [json.loads(l) for l in open(E["SM_RAW"]) if l.strip()]
def med(xs):
    xs = [x for x in xs if x is not None]
    return st.median(xs) if xs else None
def f(x, d=1):
    return "-" if x is None else f"{x:.{d}f}"
md = []
w = md.append
w(f"# xmppbots: XEP-0198 stream management, cost and resumption")
w("")
w(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {E['SM_CORES']} cores "
  f"({E['SM_CPU']}), Prosody {E['SM_PROSODY']} with mod_smacks (defaults), "
  f"`{E['SM_BIN']}` built {E['SM_BUILT']} (source tree now {E['SM_REV']}). `bench/sm.sh` took {E['SM_SECS']} s; "
  f"load average {E['SM_LOAD0']} before, {E['SM_LOAD1']} after. All on 127.0.0.1; "
  f"a fresh Prosody (tests/prosody.sh) for every run.")
echo = [r for r in rows if r["part"] == "echo"]
if echo:
    w("")
    w("## CPU per echo, SM on and off")
    w("")
    w(f"One `xmppbots echo` bot, {E['SM_LOAD_BOTS']} `xmppbots load` "
      f"bots, {E['SM_MESSAGES']} messages a round, {E['SM_WINDOW']} in flight per load bot, "
      "plain TCP, the same `--sm` on both sides; the two modes alternate, "
      f"{E['SM_ROUNDS']} rounds each. CPU = utime+stime (/proc/PID/stat, "
      "10 ms ticks) over the run, per message echoed; Prosody's minus that "
      "of a warm-up with the same logins (10 messages per load bot). "
      "`nagle on` is Prosody's default; `off` sets `network_settings.nagle = false`.")
    w("")
    w("| Prosody Nagle | --sm | round | echoed | lost | echoes/s | RTT p50 ms | p99 ms | echo bot us/echo | Prosody us/echo | load us/echo |")
    w("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in echo:
        w(f"| {r['nagle']} | {r['sm']} | {r['round']} | {r['echoed']} | {r['lost']} | "
          f"{f(r['per_s'], 0)} | {f(r['rtt_p50_ms'], 2)} | {f(r['rtt_p99_ms'], 1)} | "
          f"{f(r['echo_us_per_echo'])} | {f(r['prosody_us_per_echo'])} | {f(r['load_us_per_echo'])} |")
    w("")
    w("Medians over the rounds:")
    w("")
    w("| Prosody Nagle | --sm | echoes/s | RTT p50 ms | echo bot us/echo | Prosody us/echo | load us/echo |")
    w("|---|---|---:|---:|---:|---:|---:|")
    for nagle in dict.fromkeys(r["nagle"] for r in echo):
        for sm in ("resume", "off"):
            g = [r for r in echo if r["nagle"] == nagle and r["sm"] == sm]
            if g:
                w(f"| {nagle} | {sm} | {f(med(r['per_s'] for r in g), 0)} | "
                  f"{f(med(r['rtt_p50_ms'] for r in g), 2)} | "
                  f"{f(med(r['echo_us_per_echo'] for r in g))} | "
                  f"{f(med(r['prosody_us_per_echo'] for r in g))} | "
                  f"{f(med(r['load_us_per_echo'] for r in g))} |")
mem = [r for r in rows if r["part"] == "memory"]
if mem:
    w("")
    w("## Memory per idle bot")
    w("")
    w(f"N idle echo bots in one `xmppbots` process, plain TCP, {E['SM_IDLE_RATE']} logins/s, "
      f"RSS (VmRSS) {E['SM_SETTLE']} s after all were online (and, with resume, "
      "had stream management enabled). Per bot: (RSS(N) - RSS(1 bot, same --sm)) / N, "
      "for the xmppbots process and for Prosody.")
    w("")
    w("| --sm | bots | all online | online s | xmppbots RSS kB | per bot B | Prosody RSS kB | Prosody per bot B | sm_queued | sm_queue_bytes |")
    w("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    base = {r["sm"]: r for r in mem if r["bots"] == 1}
    for r in mem:
        b = base.get(r["sm"])
        if r["bots"] > 1 and b:
            r["bot_bytes_per_bot"] = (r["bot_rss_kb"] - b["bot_rss_kb"]) * 1024 / r["bots"]
            r["prosody_bytes_per_bot"] = (r["prosody_rss_kb"] - b["prosody_rss_kb"]) * 1024 / r["bots"]
        w(f"| {r['sm']} | {r['bots']} | {'yes' if r['all_online'] else 'NO'} | {r['online_s']} | "
          f"{r['bot_rss_kb']} | {f(r.get('bot_bytes_per_bot'), 0)} | {r['prosody_rss_kb']} | "
          f"{f(r.get('prosody_bytes_per_bot'), 0)} | "
          f"{r['sm_queued'] if r['sm'] != 'off' else '-'} | "
          f"{r['sm_queue_bytes'] if r['sm'] != 'off' else '-'} |")
res = [r for r in rows if r["part"] == "resume"]
if res:
    w("")
    w("## Time to resume after the proxy cuts every connection")
    w("")
    w("N echo bots through `tests/faultproxy.py` (`--sm resume`, default keepalive); "
      "once all were online with stream management, `cut rst all`; then the stats "
      "file (rewritten every 0.1 s, polled every 0.05 s) until `sm_resumes` = N and "
      "`online` = N. `--connect-rate` paces the reconnections as it paces logins. "
      "CPU columns: from the cut to all resumed.")
    w("")
    w("| mode | --connect-rate | bots | login s | cut | first resume s | all resumed s | resumes | failures | lost | duplicated | resent | reconnects | Prosody CPU s | xmppbots CPU s |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in res:
        w(f"| {r['mode']} | {r['connect_rate']} | {r['bots']} | {r['login_s']} | {r['cut']} | "
          f"{f(r['first_resume_s'], 2)} | {f(r['all_resumed_s'], 2) if r['all_resumed_s'] is not None else 'NOT ALL'} | "
          f"{r['sm_resumes']} | {r['sm_resume_failures']} | {r['sm_lost']} | "
          f"{r['sm_duplicated']} | {r['sm_resent']} | {r['reconnects']} | "
          f"{f(r['prosody_cpu_s'], 2)} | {f(r['bot_cpu_s'], 2)} |")
out = E["SM_OUT"]
with open(os.path.join(out, "sm.md"), "w") as fh:
    fh.write("\n".join(md) + "\n")
with open(os.path.join(out, "sm.json"), "w") as fh:
    json.dump({"machine": {"cores": int(E["SM_CORES"]), "cpu": E["SM_CPU"],
               "prosody": E["SM_PROSODY"], "rev": E["SM_REV"],
               "load_before": E["SM_LOAD0"], "load_after": E["SM_LOAD1"],
               "seconds": int(E["SM_SECS"])},
               "echo": echo, "memory": mem, "resume": res}, fh, indent=1)
print("\n".join(md))
EOF
echo "(written to $out/sm.md and $out/sm.json)"
