#!/usr/bin/env bash
# Memory and login time of xmppbots client bots at scale (a benchmark: it
# prints numbers and writes a report, it asserts nothing). For each N it
# starts a fresh private Prosody tuned for a bot farm, logs N echo bots in
# and samples the RSS of the xmppbots process once all are online; the
# per-bot figure is (RSS(N) - RSS(1)) / N.
#   bench/clients.sh [BUILD_DIR]     env: COUNTS="1000 10000" MODES="plain tls"
#                                         RATE=400 (logins/s)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
bin="$build/cli/xmppbots"
counts=${COUNTS:-"1000 10000"}
modes=${MODES:-"plain tls"}
rate=${RATE:-400}
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
online() { grep -o '"online": [0-9]*' "$1" 2>/dev/null | grep -o '[0-9]*$' || echo 0; }

# run MODE N: prints "rss_kb seconds_to_online cpu_s"
run() {
    local mode=$1 n=$2 port args start t
    port=$((20000 + RANDOM % 9000))
    "$top/tests/prosody.sh" stop "$tmp/prosody" >&2
    rm -rf "$tmp/prosody"
    "$top/tests/prosody.sh" start "$tmp/prosody" "$port" "$mode" >&2
    "$top/tests/prosody.sh" users "$tmp/prosody" bot "$n" pw >&2
    args=(--host 127.0.0.1 --port "$port")
    if [ "$mode" = tls ]; then
        args+=(--cafile "$tmp/prosody/certs/localhost.crt")
    else
        args+=(--tls none --allow-plain)
    fi
    rm -f "$tmp/stats.json"
    start=$(date +%s.%N)
    "$bin" echo --jid 'bot%d@localhost/b' --count "$n" --password pw \
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
    echo "$(rss_kb "$pid") $t $(cpu_s "$pid")"
    kill -TERM "$pid"
    wait "$pid" || true
    pid=""
    "$top/tests/prosody.sh" stop "$tmp/prosody" >&2
}

{
    echo "# xmppbots client bots: memory per connected bot"
    echo
    echo "$(date -u) on $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')."
    echo "Prosody $(dpkg-query -W -f='${Version}' prosody 2>/dev/null), login rate $rate/s, echo bots idle after login."
    echo
    echo "| mode | bots | RSS of xmppbots | per bot (above 1 bot) | time to all online | CPU |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: |"
} > "$report"

for mode in $modes; do
    # $(...) waits for run to finish (it stops its Prosody last); a
    # process substitution would let the next run start before that.
    read -r base _ _ <<< "$(run "$mode" 1)"
    for n in $counts; do
        read -r rss secs cpu <<< "$(run "$mode" "$n")"
        per=$(echo "scale=2; ($rss - $base) / $n" | bc)
        line="| $mode | $n | $((rss / 1024)) MB | $per kB | $secs s | $cpu s |"
        echo "$line" >> "$report"
        echo "$mode n=$n rss=${rss}kB base=${base}kB per_bot=${per}kB online_after=${secs}s cpu=${cpu}s"
    done
done
echo
cat "$report"
echo "(written to $report)"
