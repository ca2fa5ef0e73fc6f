#!/usr/bin/env bash
# Where Prosody's time goes with in-server jumpers (a benchmark, not a test).
# Starts a private Prosody (tests/prosody.sh, plain TCP on 127.0.0.1) with N
# jumpers of MODEL in rooms of --per-room, as bench/compare's scale workload
# does (5-9 phrases 5-15 s apart, online at 500 a second), times the start
# (all online, all joined, from the watch lines of bench/mod_lua_profile.lua),
# lets it settle, then profiles while the bots' rooms deliver --deliveries
# groupchat messages to them, and prints the breakdown per delivery:
#
#  --tool lua        the Lua VM, sampled every --sample VM instructions
#                    (bench/mod_lua_profile.lua): VM instructions per delivery
#                    by Prosody module and function, self and on the stack;
#  --tool callgrind  Prosody under valgrind's callgrind (instrumented only
#                    during the window, run by a lua5.4 built here from
#                    Debian's liblua5.4.a, so that the collector and the VM
#                    have names): every instruction per delivery, split into
#                    the collector, the VM, the Lua C functions, allocation,
#                    mod_bots' C module and the rest (bench/callgrind_split.py);
#  --tool none       only the start and the counters.
#
# --direct sets mod_bots' bots_muc_direct = true (room messages to the bots
# without the router; see doc/mod_bots.md).
#
# --probe S also runs bench/muc_probe.py (slixmpp, a c2s client) in
# bot_room_0 for S seconds from the start of the window: how a client sees
# the server (its join, the delay of its messages through the room).
#
#   bench/profile_inserver.sh mod_bots|lua_jumper N [--tool lua|callgrind|none]
#       [--deliveries D] [--sample K] [--per-room 100] [--interval "5, 15"]
#       [--gc incremental|generational] [--settle S] [--start-batch B]
#       [--watch S] [--probe S] [--direct] [--build DIR] [--port P] [--out FILE]
#       [--keep DIR]
#
# The report (Markdown: the command, git revision, start times, breakdown)
# goes to --out (default bench/results/profile-MODEL-N-TOOL-<UTC time>.md,
# which git ignores) and to stdout. Deliveries are groupchat messages the
# bots received (the rate bench/compare divides Prosody's CPU by); mod_bots
# also counts every stanza delivered (presences too), shown beside it.
# Instruction counts do not depend on the machine's load; the start times
# do (Prosody's CPU until all joined, also given, less so). Defaults:
# --tool lua, --deliveries 100000, --sample 10007, --per-room 100, --gc
# incremental, --settle 10, --start-batch 100 (as bench/compare), --watch
# 0.5; --build: build. XB_MOD_BOTS_LUA=FILE runs another mod_bots.lua (an
# older one, to compare).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
prosody_sh="$root/tests/prosody.sh"
model=${1:-}
n=${2:-}
case $model in
mod_bots|lua_jumper) ;;
-h|--help|"") sed -n '2,40p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
*) echo "MODEL must be mod_bots or lua_jumper" >&2; exit 2 ;;
esac
[[ $n =~ ^[0-9]+$ ]] || { echo "N must be a number of bots" >&2; exit 2; }
shift 2
tool=lua deliveries=100000 sample=10007 per_room=100 interval="5, 15" gc=incremental
settle=10 start_batch=100 watch=0.5 probe=0 build="" port="" out="" keep="" direct=false
while [ $# -gt 0 ]; do
    case $1 in
    --tool) tool=$2; shift 2 ;;
    --deliveries) deliveries=$2; shift 2 ;;
    --sample) sample=$2; shift 2 ;;
    --per-room) per_room=$2; shift 2 ;;
    --interval) interval=$2; shift 2 ;;
    --gc) gc=$2; shift 2 ;;
    --settle) settle=$2; shift 2 ;;
    --start-batch) start_batch=$2; shift 2 ;;
    --watch) watch=$2; shift 2 ;;
    --probe) probe=$2; shift 2 ;;
    --direct) direct=true; shift ;;
    --build) build=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
case $tool in lua|callgrind|none) ;; *) echo "--tool lua|callgrind|none" >&2; exit 2 ;; esac
for d in "$build" "$root/build"; do
    if [ -n "$d" ] && [ -f "$d/mod_bots/.libs/xmppbots_bots.so" ]; then
        build=$d
        break
    fi
done
so="$build/mod_bots/.libs/xmppbots_bots.so"
[ "$model" != mod_bots ] || [ -f "$so" ] ||
    { echo "xmppbots_bots.so not built (try --build DIR)" >&2; exit 1; }
port=${port:-$((20000 + $$ % 5000))}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=${out:-$root/bench/results/profile-$model-$n-$tool-$stamp.md}
mkdir -p "$(dirname "$out")"

tmp=$(mktemp -d)
dir="$tmp/prosody"
plugins="$tmp/plugins"
mkdir -p "$plugins" "$tmp/wrap"
cp "$root/bench/mod_lua_profile.lua" "$root/bench/peers/mod_lua_jumper.lua" "$plugins/"
[ "$model" != mod_bots ] || cp "${XB_MOD_BOTS_LUA:-$root/mod_bots/mod_bots.lua}" "$so" "$plugins/"
probe_pid=""
cleanup() {
    [ -z "$probe_pid" ] || kill "$probe_pid" 2> /dev/null || true
    bash "$prosody_sh" stop "$dir" > /dev/null 2>&1 || true
    if [ -n "$keep" ]; then mkdir -p "$keep" && cp -a "$tmp/." "$keep/"; fi
    rm -rf "$tmp"
}
trap cleanup EXIT

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
pid() { cat "$dir/prosody.pid.launcher"; }
pshell() { bash "$prosody_sh" shell "$dir" 300 "$@"; }
counters() { pshell 'prof:counters()' | grep '^{' | head -n 1; }
field() { grep -oP "\"$2\":\K[0-9.]+" <<< "$1" | head -n 1 || true; }

rooms=$((n / per_room > 0 ? n / per_room : 1))
ramp=$(awk -v n="$n" 'BEGIN { print n / 500 }')
if [ "$model" = mod_bots ]; then
    host_extra="modules_enabled = { \"bots\", \"lua_profile\" }
    bots_start_batch = $start_batch
    bots_muc_direct = $direct
    bots_jumper = { count = $n, rooms = $rooms, phrases = { 5, 9 }, interval = { $interval }, ramp = $ramp, seed = 1 }"
else
    host_extra="modules_enabled = { \"lua_jumper\", \"lua_profile\" }
    lua_jumper_count = $n; lua_jumper_rooms = $rooms; lua_jumper_phrases = { 5, 9 }; lua_jumper_interval = { $interval }; lua_jumper_ramp = $ramp"
fi
host_extra+="
    lua_profile_watch = $watch"

# Under callgrind: Prosody run by a lua5.4 with symbols, instrumented only
# between callgrind_control -i on and off.
if [ "$tool" = callgrind ]; then
    command -v valgrind > /dev/null || { echo "valgrind is needed for --tool callgrind" >&2; exit 1; }
    cc -O2 -o "$tmp/lua5.4" "$root/bench/lua_sym.c" -I/usr/include/lua5.4 \
        -Wl,-E -Wl,--whole-archive /usr/lib/x86_64-linux-gnu/liblua5.4.a \
        -Wl,--no-whole-archive -lm -ldl
    printf '#!/bin/sh\nexec valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=%s %s %s "$@"\n' \
        "$tmp/callgrind.out" "$tmp/lua5.4" "$(command -v prosody)" > "$tmp/wrap/prosody"
    chmod +x "$tmp/wrap/prosody"
fi

t0=$(now)
PATH="$tmp/wrap:$PATH" XB_PROSODY_GC=$gc XB_PROSODY_MODULES=$plugins \
    XB_PROSODY_HOST_EXTRA=$host_extra timeout 300 bash "$prosody_sh" start "$dir" "$port" plain
started=$(since "$t0")
[ "$probe" = 0 ] || bash "$prosody_sh" user "$dir" probe pw

# All online (the module's log line), then all joined once (the counters).
online=timeout joined=timeout limit=$((n / 500 + 120))
for _ in $(seq 1 $((limit * 2))); do
    if grep -qP "\\b$n bots online on localhost" "$dir/prosody.log"; then
        online=$(since "$t0")
        break
    fi
    sleep 0.5
done
if [ "$online" != timeout ]; then
    while [ "$(awk -v a="$t0" -v b="$(now)" 'BEGIN { print b - a < '"$limit"' }')" = 1 ]; do
        if [ "$(field "$(counters)" joins)" -ge "$n" ] 2> /dev/null; then
            joined=$(since "$t0")
            break
        fi
        sleep 1
    done
fi
sleep "$settle"

# The window: until the bots received --deliveries groupchat messages.
if [ "$probe" != 0 ]; then
    /usr/bin/python3 "$root/bench/muc_probe.py" --jid probe@localhost --password pw \
        --host 127.0.0.1 --port "$port" --every 0.5 --duration "$probe" --grace 5 \
        > "$tmp/probe.json" 2> "$tmp/probe.err" &
    probe_pid=$!
fi
c0=$(counters)
w0=$(now)
case $tool in
lua) pshell "prof:start($sample)" > /dev/null ;;
callgrind) callgrind_control -i on "$(pid)" > /dev/null ;;
esac
r0=$(field "$c0" groupchat_received)
wlimit=600 poll=2
[ "$tool" != callgrind ] || poll=10
while :; do
    sleep "$poll"
    c1=$(counters)
    r1=$(field "$c1" groupchat_received)
    [ "${r1:-0}" -lt $((r0 + deliveries)) ] || break
    [ "$(awk -v a="$w0" -v b="$(now)" 'BEGIN { print b - a < '"$wlimit"' }')" = 1 ] || break
done
case $tool in
lua) pshell "prof:stop()" > /dev/null ;;
callgrind) callgrind_control -i off "$(pid)" > /dev/null ;;
esac
c1=$(counters)
wall=$(since "$w0")
probe_line=""
if [ -n "$probe_pid" ]; then
    for _ in $(seq 1 $((probe * 2 + 120))); do kill -0 "$probe_pid" 2> /dev/null || break; sleep 0.5; done
    kill "$probe_pid" 2> /dev/null || true
    wait "$probe_pid" 2> /dev/null || true
    probe_pid=""
    probe_line=$(grep '^{' "$tmp/probe.json" | tail -n 1 || true)
fi
d=$(($(field "$c1" groupchat_received) - r0))
s0=$(field "$c0" stanzas) s1=$(field "$c1" stanzas)
cpu=$(awk -v a="$(field "$c0" cpu)" -v b="$(field "$c1" cpu)" 'BEGIN { printf "%.2f", b - a }')
said=$(awk -v a="$(field "$c0" groupchat_sent)" -v b="$(field "$c1" groupchat_sent)" -v w="$wall" \
    'BEGIN { printf "%.0f", (b - a) / w }')
# From the watch lines: Prosody's CPU when all had joined, and the longest
# the event loop was busy (its timer late) before that and after.
watch_summary=$(grep -oP 'watch \K.*' "$dir/prosody.log" | awk -v n="$n" '
    { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
    !done && v["joins"] + 0 >= n { done = 1; cpu = v["cpu"] }
    { if (!done) { if (v["lag"] > lag0) lag0 = v["lag"] } else if (v["lag"] > lag1) lag1 = v["lag"] }
    END { printf "Prosody CPU until all joined %s s; longest event-loop stall (watch timer late) %.1f s before, %.1f s after", done ? cpu : "n/a", lag0, lag1 }')

{
    echo "# In-server jumpers profiled: $model, $n bots, --tool $tool"
    echo
    echo "\`bench/profile_inserver.sh $model $n --tool $tool --deliveries $deliveries --sample $sample --per-room $per_room --interval \"$interval\" --gc $gc$($direct && echo ' --direct')\`"
    echo
    echo "- $(date -u +%Y-%m-%dT%H:%MZ), git $(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet HEAD -- mod_bots bench core 2> /dev/null || echo ' (with local changes)'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "- $n jumpers in $rooms rooms, 5-9 phrases $interval s apart, online at 500/s; GC $gc"
    echo "- start: Prosody ready ${started} s, all online ${online} s, all joined ${joined} s (from the launch)"
    echo "- $watch_summary"
    [ -z "$probe_line" ] || echo "- probe (slixmpp in bot_room_0, ${probe} s): $probe_line"
    echo "- window: $d groupchat deliveries$([ -z "$s0" ] || echo " ($((s1 - s0)) stanzas delivered to the bots in all)") in $wall s, Prosody CPU $cpu s; phrases said $said/s (the bots' pace: $(awk -v n="$n" -v i="$interval" 'BEGIN { split(i, r, ","); printf "%.0f", n * 2 / (r[1] + r[2]) }')/s)"
    echo
} > "$out"

case $tool in
lua)
    pshell "prof:report(\"$tmp/lua-report.txt\", $d, 40)" > /dev/null
    cat "$tmp/lua-report.txt" >> "$out"
    ;;
callgrind)
    # callgrind writes its file at exit: a clean stop, however long.
    p=$(pid)
    kill "$p"
    for _ in $(seq 1 600); do kill -0 "$p" 2> /dev/null || break; sleep 0.5; done
    nm /usr/lib/x86_64-linux-gnu/liblua5.4.a > "$tmp/liblua.nm" 2> /dev/null
    python3 "$root/bench/callgrind_split.py" "$tmp/callgrind.out" "$d" \
        --lua-map "$tmp/liblua.nm" ${s0:+--stanzas $((s1 - s0))} >> "$out"
    ;;
esac
{
    echo
    echo "Watch (every ${watch} s: timer lateness s, Prosody CPU s, Lua heap kB, counters):"
    echo
    echo '```'
    grep -oP 'watch \K.*' "$dir/prosody.log" | awk 'NR % 4 == 1' | head -n 60 || true
    echo '```'
} >> "$out"
cat "$out"
