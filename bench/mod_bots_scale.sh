#!/usr/bin/env bash
# Scale of mod_bots (a benchmark, not a test). Two parts, each against a
# fresh private Prosody (tests/prosody.sh, plain TCP on 127.0.0.1):
#
#  scale  N in-server jumper bots (N/100 rooms, default 5-15 s intervals and
#         5-9 phrases): Prosody RSS per bot (RSS with the bots minus RSS with
#         the module and no bots, over N) once startup has settled and again
#         after the window, the Lua heap per bot after a full collection
#         (also minus the no-bot heap), startup time (all sessions bound; all
#         bots joined once), Prosody's CPU over the window, the chatter rates
#         and errors in the window. --kinds echo does the same with N echo
#         bots (sessions with presence, no room): the cost of a bot itself.
#  echo   Prosody CPU per echoed message: the CLI load generator (10 users,
#         plain TCP) against mod_bots' in-server echo bot, then against
#         bench/peers/mod_lua_echo.lua (a 10-line pure-Lua echo) on the same
#         workload; CPU from /proc/PID/stat before and after. The two
#         alternate, --repeat times each (other load on the machine shows as
#         spread between the rounds).
#  instr  The same comparison without the noise: Prosody runs under
#         valgrind's callgrind, once with --messages-low and once with
#         --messages per user; the difference of the two instruction totals
#         over the difference in echoes is the server's instructions per
#         echoed message, the same on a busy machine as on an idle one.
#
#   bench/mod_bots_scale.sh [--part scale|echo|instr|all] [--counts "1000 10000 100000"]
#       [--kinds "jumper echo"] [--gc "incremental generational"] [--window 60]
#       [--settle 15] [--interval "5, 15"] [--ramp S] [--rooms-per N]
#       [--messages 5000] [--messages-low 100] [--repeat 3] [--build DIR] [--cli PATH] [--port P]
#
# --build is the build directory holding mod_bots/.libs (default: build-mod,
# then build); --cli the xmppbots binary for the load generator (default
# build/cli/xmppbots, then the --build one). Results go to stdout, one line
# per run, as a Markdown table row.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
prosody_sh="$root/tests/prosody.sh"
part=all counts="1000 10000 100000" gcs="incremental generational" kinds=jumper
window=60 settle=15 messages=5000 build="" cli="" port=""
interval="5, 15" ramp=0 per_room=100 repeat=3 messages_low=100

while [ $# -gt 0 ]; do
    case $1 in
    --part) part=$2; shift 2 ;;
    --counts) counts=$2; shift 2 ;;
    --kinds) kinds=$2; shift 2 ;;
    --interval) interval=$2; shift 2 ;;
    --ramp) ramp=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --rooms-per) per_room=$2; shift 2 ;;
    --gc) gcs=$2; shift 2 ;;
    --window) window=$2; shift 2 ;;
    --settle) settle=$2; shift 2 ;;
    --messages) messages=$2; shift 2 ;;
    --messages-low) messages_low=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --cli) cli=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    -h|--help) sed -n '2,34p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
for d in "$build" "$root/build-mod" "$root/build"; do
    if [ -n "$d" ] && [ -f "$d/mod_bots/.libs/xmppbots_bots.so" ]; then
        build=$d
        break
    fi
done
so="$build/mod_bots/.libs/xmppbots_bots.so"
[ -f "$so" ] || { echo "xmppbots_bots.so not built (try --build DIR)" >&2; exit 1; }
for c in "$cli" "$root/build/cli/xmppbots" "$build/cli/xmppbots"; do
    if [ -n "$c" ] && [ -x "$c" ]; then
        cli=$c
        break
    fi
done
port=${port:-$((20000 + $$ % 5000))}
hz=$(getconf CLK_TCK)

tmp=$(mktemp -d)
dir="$tmp/prosody"
plugins="$tmp/plugins"
mkdir -p "$plugins"
cp "$root/mod_bots/mod_bots.lua" "$so" "$root/bench/peers/mod_lua_echo.lua" "$plugins/"
trap 'bash "$prosody_sh" stop "$dir" > /dev/null 2>&1; rm -rf "$tmp"' EXIT

pid() { cat "$dir/prosody.pid.launcher"; }
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$(pid)/status"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$(pid)/stat"; }
now() { date +%s.%N; }
pshell() { bash "$prosody_sh" shell "$dir" 600 "$@"; }
# One number from bots:stats() (a JSON object per host): field NAME.
bots_stat() {
    pshell 'bots:stats()' | grep -oP "\"$1\":\K[0-9]+" | head -n 1
}
# One number from the load generator's --stats file: field NAME.
load_stat() { grep -oP "\"$1\": \K[0-9.]+" "$tmp/load.json" 2> /dev/null | head -n 1 || echo 0; }
# Lua heap (KiB) after two full collections.
heap_kb() {
    pshell '>collectgarbage() collectgarbage() print("HEAP", collectgarbage("count"))' |
        grep -oP 'HEAP\s+\K[0-9.]+'
}

start() { # start GC HOST_EXTRA
    bash "$prosody_sh" stop "$dir" > /dev/null 2>&1 || true
    rm -rf "$dir"
    XB_PROSODY_GC=$1 XB_PROSODY_MODULES=$plugins XB_PROSODY_HOST_EXTRA=$2 \
        timeout 120 bash "$prosody_sh" start "$dir" "$port" plain
}
stop() { bash "$prosody_sh" stop "$dir" > /dev/null 2>&1 || true; }

# The VirtualHost lines for N bots of a kind.
bots_config() {
    if [ "$1" = jumper ]; then
        echo "modules_enabled = { \"bots\" }
    bots_jumper = { count = $2, rooms = $(($2 / per_room > 0 ? $2 / per_room : 1)),
        interval = { $interval }, ramp = $ramp, seed = 1 }"
    else
        echo "modules_enabled = { \"bots\" }
    local list = {} for i = 1, $2 do list[i] = \"echo\" .. i end bots_echo = list"
    fi
}

scale() {
    local gc kind n base base_heap t0 bound online joined j0 s0 s1 r0 r1 c0 c1 heap
    echo "| GC | bots | kind | rooms | base RSS MB | RSS MB settled | RSS/bot B settled | RSS/bot B after window | Lua heap/bot B | bound s | online s | all joined s | online at end | CPU % (${window} s) | groupchat sent/s | received/s | join errors | errors |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    for gc in $gcs; do
        start "$gc" 'modules_enabled = { "bots" }
    bots_jumper = { count = 0 }'
        sleep "$settle"
        base=$(rss_kb)
        base_heap=$(heap_kb)
        stop
        for kind in $kinds; do
            for n in $counts; do
                t0=$(now)
                start "$gc" "$(bots_config "$kind" "$n")"
                # All sessions bound: the module logs it when the last
                # batch is done. All joined: the joins counter reaches N.
                online=""
                for _ in $(seq 1 600); do
                    online=$(grep -oP "$n bots online on localhost .* in \K[0-9.]+" \
                        "$dir/prosody.log" || true)
                    [ -z "$online" ] || break
                    sleep 0.5
                done
                online=${online:->300}
                bound=$(grep -oP "bot sessions bound on localhost in \K[0-9.]+" \
                    "$dir/prosody.log" || echo "?")
                joined="-"
                if [ "$kind" = jumper ] && [ "$online" != ">300" ]; then
                    joined=">300"
                    for _ in $(seq 1 300); do
                        j0=$(bots_stat joins)
                        if [ "${j0:-0}" -ge "$n" ]; then
                            joined=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
                            break
                        fi
                        sleep 1
                    done
                fi
                sleep "$settle"
                r0=$(rss_kb)
                s0=$(pshell 'bots:stats()')
                c0=$(cpu_ticks)
                sleep "$window"
                c1=$(cpu_ticks)
                s1=$(pshell 'bots:stats()')
                r1=$(rss_kb)
                heap=$(heap_kb)
                awk -v gc="$gc" -v n="$n" -v kind="$kind" -v base="$base" -v r0="$r0" \
                    -v r1="$r1" -v heap="$heap" -v bheap="$base_heap" -v online="$online" \
                    -v bound="$bound" -v per_room="$per_room" \
                    -v joined="$joined" -v c="$((c1 - c0))" -v hz="$hz" -v w="$window" \
                    -v s0="$s0" -v s1="$s1" '
                    function stat(s, name,   v) {
                        if (!match(s, "\"" name "\":[0-9]+")) return 0
                        v = substr(s, RSTART, RLENGTH); sub(/.*:/, "", v); return v + 0
                    }
                    BEGIN {
                        rooms = kind == "jumper" ? (n >= per_room ? int(n / per_room) : 1) : 0
                        errors = stat(s1, "refused") + stat(s1, "errors") \
                            + stat(s1, "lua_errors")
                        printf "| %s | %d | %s | %d | %.1f | %.1f | %.0f | %.0f | %.0f | %s | %s | %s | %d | %.0f | %.0f | %.0f | %d | %d |\n",
                            gc, n, kind, rooms, base / 1024, r0 / 1024, (r0 - base) * 1024 / n,
                            (r1 - base) * 1024 / n, (heap - bheap) * 1024 / n, bound, online, joined,
                            stat(s1, "online"),
                            100 * c / hz / w,
                            (stat(s1, "groupchat_sent") - stat(s0, "groupchat_sent")) / w,
                            (stat(s1, "groupchat_received") - stat(s0, "groupchat_received")) / w,
                            stat(s1, "join_errors"), errors
                    }'
                stop
            done
        done
    done
}

# The VirtualHost lines for an echo bot: mod_bots' or the pure-Lua one.
echo_config() {
    if [ "$1" = mod_bots ]; then
        echo 'modules_enabled = { "bots" }
    bots_echo = { "echobot" }'
    else
        echo 'modules_enabled = { "lua_echo" }'
    fi
}

# echo_start GC MODE: a fresh Prosody with the echo bot of MODE and users
# u0..u9 for the load generator.
echo_start() {
    start "$1" "$(echo_config "$2")"
    bash "$prosody_sh" users "$dir" u 10 pw
}

# echo_load ARGS...: the load generator of the echo parts, 10 users with 8
# messages in flight each, plus ARGS (--messages M).
echo_load() {
    "$cli" load --jid 'u%d@localhost' -n 10 --password pw --host 127.0.0.1 \
        --port "$port" --tls none --allow-plain --to echobot@localhost \
        --window 8 --no-progress "$@"
}

need_cli() {
    [ -x "$cli" ] || { echo "no xmppbots CLI for the load generator (--cli)" >&2; return 1; }
}

echo_part() {
    local gc mode c0 c1 sent echoed rate round
    need_cli
    echo "| GC | round | echo | messages | echoed | lost | echoes/s | Prosody CPU s | CPU us/echo |"
    echo "|---|---|---|---|---|---|---|---|---|"
    for gc in $gcs; do
        for round in $(seq 1 "$repeat"); do
        for mode in mod_bots lua_echo; do
            echo_start "$gc" "$mode"
            # Warm-up (logins, caches), then the measured run.
            echo_load --messages 500 > /dev/null 2>&1 || true
            sleep 1
            c0=$(cpu_ticks)
            rm -f "$tmp/load.json"
            echo_load --messages "$messages" --stats "$tmp/load.json" > /dev/null 2>&1 || true
            c1=$(cpu_ticks)
            sent=$(load_stat sent)
            echoed=$(load_stat answered)
            rate=$(load_stat per_s)
            awk -v gc="$gc" -v round="$round" -v m="$mode" -v s="$sent" -v e="$echoed" -v r="$rate" \
                -v c="$((c1 - c0))" -v hz="$hz" -v lost="$(load_stat lost)" \
                'BEGIN { printf "| %s | %d | %s | %d | %d | %s | %s | %.2f | %.1f |\n",
                    gc, round, m, s, e, lost, r, c / hz, e ? 1e6 * c / hz / e : 0 }'
            stop
        done
        done
    done
}

# Instructions Prosody executes for M messages from each of 10 users
# (callgrind's total, so it includes startup: the caller takes differences).
# $tmp/wrap/prosody (see instr_part) runs Prosody under callgrind.
prosody_instructions() { # MODE M
    local out="$tmp/callgrind.out" pid
    rm -f "$out"
    PATH="$tmp/wrap:$PATH" echo_start incremental "$1" > /dev/null
    echo_load --message-timeout 120 --messages "$2" > /dev/null 2>&1 || true
    # callgrind writes its totals at exit: a clean stop, however long.
    pid=$(pid)
    kill "$pid"
    for _ in $(seq 1 240); do
        kill -0 "$pid" 2> /dev/null || break
        sleep 0.5
    done
    stop
    awk '/^summary:/ { print $2 }' "$out"
}

instr_part() {
    local mode lo hi
    need_cli
    command -v valgrind > /dev/null || { echo "valgrind is needed for --part instr" >&2; return 1; }
    mkdir -p "$tmp/wrap"
    printf '#!/bin/sh\nexec valgrind --tool=callgrind --callgrind-out-file=%s lua5.4 %s "$@"\n' \
        "$tmp/callgrind.out" "$(command -v prosody)" > "$tmp/wrap/prosody"
    chmod +x "$tmp/wrap/prosody"
    echo "| echo | instructions, $messages_low msgs/user | instructions, $messages msgs/user | instructions per echo |"
    echo "|---|---|---|---|"
    for mode in mod_bots lua_echo; do
        lo=$(prosody_instructions "$mode" "$messages_low")
        hi=$(prosody_instructions "$mode" "$messages")
        awk -v m="$mode" -v lo="$lo" -v hi="$hi" -v n="$((10 * (messages - messages_low)))" \
            'BEGIN { printf "| %s | %.0f | %.0f | %.0f |\n", m, lo, hi, (hi - lo) / n }'
    done
}

echo "# mod_bots scale benchmark, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(prosodyctl about 2>/dev/null | grep -m1 -oP 'Prosody \K\S+' || echo prosody)"
case $part in
scale) scale ;;
echo) echo_part ;;
instr) instr_part ;;
all) echo_part; scale ;;
*) echo "--part scale|echo|instr|all" >&2; exit 2 ;;
esac
