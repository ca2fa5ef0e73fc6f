#!/usr/bin/env bash
# Memory and login time of xmppbots bots at scale, as clients (plain TCP or
# STARTTLS) or as virtual users of an XEP-0114 component (a benchmark: it
# prints numbers and writes a report, it asserts nothing). For each N it
# starts a fresh private Prosody tuned for a bot farm, brings N echo bots
# online and samples the RSS of the xmppbots process and of Prosody; the
# per-bot figures are (RSS(N) - RSS(1)) / N. Then, with the N bots online,
# 10 load clients send LOAD messages to bot0 (8 in flight each) and the CPU
# both processes spend per echo is measured.
#   bench/clients.sh [BUILD_DIR]     env: COUNTS="1000 10000"
#                                         MODES="plain tls component"
#                                         RATE=400 (logins/s) LOAD=10000
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
bin="$build/cli/xmppbots"
counts=${COUNTS:-"1000 10000"}
modes=${MODES:-"plain tls component"}
rate=${RATE:-400}
load=${LOAD:-10000}
out="$top/bench/results"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
report="$out/clients-$stamp.md"
tmp=$(mktemp -d)
pid=""
mkdir -p "$out"

cleanup() {
    [ -z "$pid" ] || kill "$pid" 2>/dev/null || true
    "$top/tests/prosody.sh" stop "$tmp/prosody" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
cpu_s() { awk '{printf "%.2f", ($14 + $15) / 100}' "/proc/$1/stat"; }
prosody_pid() { cat "$tmp/prosody/prosody.pid"; }
online() { grep -o '"online": [0-9]*' "$1" 2>/dev/null | grep -o '[0-9]*$' || echo 0; }

# run MODE N: prints "rss_kb seconds_to_online cpu_s prosody_rss_kb
# bot_us_per_echo prosody_us_per_echo"
run() {
    local mode=$1 n=$2 port args start t ppid to jid=bot%d@localhost/b
    local rss prss c0 p0 c1 p1 lsec
    port=$((20000 + RANDOM % 9000))
    "$top/tests/prosody.sh" stop "$tmp/prosody" >&2
    rm -rf "$tmp/prosody"
    args=(--host 127.0.0.1)
    to=bot0@localhost/b
    if [ "$mode" = component ]; then
        XB_PROSODY_COMPONENT="bots.localhost $((port + 1)) bench" \
            "$top/tests/prosody.sh" start "$tmp/prosody" "$port" plain >&2
        args+=(--port $((port + 1)) --component bots.localhost --secret bench)
        jid=bot%d@bots.localhost/b to=bot0@bots.localhost/b
    else
        "$top/tests/prosody.sh" start "$tmp/prosody" "$port" "$mode" >&2
        "$top/tests/prosody.sh" users "$tmp/prosody" bot "$n" pw >&2
        args+=(--port "$port" --password pw)
        if [ "$mode" = tls ]; then
            args+=(--cafile "$tmp/prosody/certs/localhost.crt")
        else
            args+=(--tls none --allow-plain)
        fi
    fi
    "$top/tests/prosody.sh" users "$tmp/prosody" load 10 pw >&2
    lsec=(--tls none --allow-plain)
    [ "$mode" != tls ] || lsec=(--cafile "$tmp/prosody/certs/localhost.crt")
    rm -f "$tmp/stats.json"
    start=$(date +%s.%N)
    "$bin" echo --jid "$jid" --count "$n" \
        "${args[@]}" --connect-rate "$rate" --stats "$tmp/stats.json" \
        --stats-interval 0.5 --no-progress --retries 100 \
        > "$tmp/run.out" 2>&1 &
    pid=$!
    for _ in $(seq 1 1200); do
        [ "$(online "$tmp/stats.json")" -ge "$n" ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.25
    done
    t=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    sleep 2 # let allocations settle
    ppid=$(prosody_pid)
    rss=$(rss_kb "$pid") prss=$(rss_kb "$ppid")
    # CPU per echo with the N bots online: 10 load clients, bot0 echoes.
    c0=$(cpu_s "$pid") p0=$(cpu_s "$ppid")
    "$bin" load --jid 'load%d@localhost/l' --count 10 --password pw \
        --host 127.0.0.1 --port "$port" "${lsec[@]}" \
        --to "$to" --messages $((load / 10)) --window 8 --no-progress \
        > "$tmp/load.out" 2>&1 || true
    c1=$(cpu_s "$pid") p1=$(cpu_s "$ppid")
    echo "$rss $t $(cpu_s "$pid") $prss" \
        "$(echo "scale=1; ($c1 - $c0) * 1000000 / $load" | bc)" \
        "$(echo "scale=1; ($p1 - $p0) * 1000000 / $load" | bc)"
    kill -TERM "$pid"
    wait "$pid" || true
    pid=""
    "$top/tests/prosody.sh" stop "$tmp/prosody" >&2
}

{
    echo "# xmppbots bots: memory per online bot, CPU per echo"
    echo
    echo "$(date -u) on $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')."
    echo "Prosody $(dpkg-query -W -f='${Version}' prosody 2>/dev/null), login rate $rate/s, echo bots idle after login;"
    echo "then $load echoes of bot0 (10 plain-TCP load clients, 8 in flight each) with all N online."
    echo "Per-bot figures are above a 1-bot run; CPU per echo is utime+stime (10 ms ticks) over the load."
    echo
    echo "| mode | bots | RSS of xmppbots | per bot | Prosody RSS | per bot | time to all online | CPU to online | bot CPU per echo | Prosody CPU per echo |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
} > "$report"

for mode in $modes; do
    # $(...) waits for run to finish (it stops its Prosody last); a
    # process substitution would let the next run start before that.
    read -r base _ _ pbase _ _ <<< "$(run "$mode" 1)"
    for n in $counts; do
        read -r rss secs cpu prss bus pus <<< "$(run "$mode" "$n")"
        per=$(echo "scale=2; ($rss - $base) / $n" | bc)
        pper=$(echo "scale=2; ($prss - $pbase) / $n" | bc)
        line="| $mode | $n | $((rss / 1024)) MB | $per kB | $((prss / 1024)) MB | $pper kB | $secs s | $cpu s | $bus us | $pus us |"
        echo "$line" >> "$report"
        echo "$mode n=$n rss=${rss}kB per_bot=${per}kB prosody_rss=${prss}kB prosody_per_bot=${pper}kB online_after=${secs}s cpu=${cpu}s bot_us_per_echo=$bus prosody_us_per_echo=$pus"
    done
done
echo
cat "$report"
echo "(written to $report)"
