#!/usr/bin/env bash
# The component model on a two-node ejabberd cluster on this machine, and
# what the loss of a node costs (a benchmark: it prints numbers and writes a
# report, it asserts nothing). Both nodes are private ejabberd 23.01 nodes
# (tests/ejabberd.sh; node 2 joins node 1's cluster), everything on
# 127.0.0.1; the component bots connect to both nodes (--host N1,N2:
# stream k starts at node k mod 2 and fails over to the other).
#  1. throughput  E component echo bots over S streams, K load clients
#     (one `xmppbots load` process each, client k at node k mod 2, each to
#     its own echo bot) sending M messages with W in flight: echoes/s, RTT,
#     CPU per 1000 echoes of each node and of the echo process, RSS of each
#     node; the same run on node 1 alone (node 2 stopped), ROUNDS times,
#     alternating.
#  2. failover    the same setup at about half the cluster's phase-1
#     throughput (window 1, as many clients as give that), node 2 killed
#     with SIGKILL in the middle: time until every echo stream is ready at
#     node 1, the load clients of node 2 back on node 1, messages lost,
#     echoes/s each second after the kill against before.
#  3. jumpers     J component jumpers (rooms of 100, 5-9 phrases 5-15 s
#     apart) on 2 streams, one per node: each node's CPU and the phrases
#     delivered per second over a window; then node 2 killed: rooms lost,
#     time until the rooms' occupants are back to their level before the
#     kill, phrases/s after.
#
#   bench/cluster.sh [--quick] [--out DIR] [--build DIR] [--port P]
#       [--phases "1 2 3"] [--echo-bots E] [--streams S] [--clients K]
#       [--messages M] [--window W] [--rounds R] [--message-timeout S]
#       [--jumpers J] [--jumper-window S]
#
# Defaults: E 1000, S 4, K 20, M 2000, W 4, R 5, J 1000, a 60 s jumper
# window: about 10 minutes on 2 cores. --quick: E 100, K 4, R 1, J 200,
# short windows, about 2 minutes (to check that the script works, not to
# measure). Writes bench/results/<UTC YYYYmmdd-HHMMSS>-cluster/ (or --out):
# report.md, results.json (every number and the commands), phase1.csv,
# failover.csv, jumpers.csv (the time series), logs/. Exits non-zero only
# when a step could not run at all (a node did not start, the bots did not
# get online, no echo came back). See bench/README.md.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
py=/usr/bin/python3
ejsh="$root/tests/ejabberd.sh"
helper="$root/bench/cluster.py"

quick=0 out="" build="$root/build" port="" phases="1 2 3"
echo_bots="" streams="" clients="" messages="" window="" rounds=""
message_timeout="" jumpers="" jumper_window=""

can_report=""
# die MESSAGE: a step could not run: the report of what ran, and exit 1.
die() {
    echo "cluster.sh: $*" >&2
    if [ -n "$can_report" ]; then
        can_report=""
        printf '%s\n' "$*" > "$tmp/failed"
        finish_report || true
    fi
    exit 1
}
say() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
num() { { [[ $2 =~ ^[0-9]+$ ]] && [ "$2" -gt 0 ]; } || die "$1 wants a positive integer, not '$2'"; }

while [ $# -gt 0 ]; do
    case $1 in
    --quick) quick=1; shift ;;
    --out) out=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    --phases) phases=$2; shift 2 ;;
    --echo-bots) echo_bots=$2; shift 2 ;;
    --streams) streams=$2; shift 2 ;;
    --clients) clients=$2; shift 2 ;;
    --messages) messages=$2; shift 2 ;;
    --window) window=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --message-timeout) message_timeout=$2; shift 2 ;;
    --jumpers) jumpers=$2; shift 2 ;;
    --jumper-window) jumper_window=$2; shift 2 ;;
    -h|--help) sed -n '2,37p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (try --help)" ;;
    esac
done

# Profiles: the phase-2 and phase-3 windows (settle, before / window,
# after the kill), in seconds.
if [ "$quick" = 1 ]; then
    profile=quick
    : "${echo_bots:=100}" "${clients:=4}" "${rounds:=1}" "${jumpers:=200}"
    : "${jumper_window:=15}"
    fo_settle=3 fo_before=6 fo_after=12 jp_settle=5 jp_after=30
else
    profile=full
    : "${echo_bots:=1000}" "${clients:=20}" "${rounds:=5}" "${jumpers:=1000}"
    : "${jumper_window:=60}"
    fo_settle=5 fo_before=30 fo_after=60 jp_settle=20 jp_after=150
fi
: "${streams:=4}" "${messages:=2000}" "${window:=4}" "${message_timeout:=2}"
for v in echo_bots streams clients messages window rounds message_timeout jumpers jumper_window; do
    num "--${v//_/-}" "${!v}"
done
[ "$streams" -ge 2 ] || die "--streams: at least 2 (one per node)"
[ "$clients" -ge 2 ] || die "--clients: at least 2 (one per node)"
[ "$jumpers" -ge 100 ] || die "--jumpers: at least 100 (rooms of 100)"
for p in $phases; do
    case $p in 1|2|3) ;; *) die "--phases: a list of 1, 2, 3, not '$phases'" ;; esac
done
has_phase() { [[ " $phases " == *" $1 "* ]]; }
rooms=$((jumpers / 100))

[ ! -d "$build" ] || build=$(cd "$build" && pwd)
bin="$build/cli/xmppbots"
if [ ! -x "$bin" ] && [ -f "$build/Makefile" ]; then
    say "building in $build"
    make -C "$build" -j"$(nproc)" > /dev/null || die "build failed in $build"
fi
[ -x "$bin" ] || die "no $bin (configure and make there, or give --build DIR)"
[ -f "$helper" ] || die "no $helper"
for t in erl epmd openssl; do
    command -v "$t" > /dev/null || die "$t not found (./dev deps installs ejabberd and Erlang)"
done
compgen -G '/usr/lib/*/ejabberd-[0-9]*/ebin/ejabberd.app' > /dev/null ||
    die "ejabberd is not installed (./dev deps installs it)"

# Ports from P: node 1's c2s, echo and jumper component listeners (one
# each: ejabberd sends a listener's every domain to each component on it),
# the same three for node 2, node 1's and node 2's Erlang distribution, the
# cluster's epmd.
nports=9
port_free() { ! (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null; }
ports_free() {
    local i
    for ((i = 0; i < nports; i++)); do port_free $(($1 + i)) || return 1; done
}
pick_port() {
    local p
    for _ in $(seq 1 50); do
        p=$((20000 + RANDOM % 9900))
        ports_free "$p" && { echo "$p"; return 0; }
    done
    return 1
}
set_ports() {
    c1=$1 e1=$(($1 + 1)) j1=$(($1 + 2)) c2=$(($1 + 3)) e2=$(($1 + 4)) j2=$(($1 + 5))
    dist1=$(($1 + 6)) dist2=$(($1 + 7)) epmd_port=$(($1 + 8))
}

out=${out:-$root/bench/results/$(date -u +%Y%m%d-%H%M%S)-cluster}
mkdir -p "$out/logs"
out=$(cd "$out" && pwd)
tmp=$(mktemp -d)
n1="$tmp/node1" n2="$tmp/node2"
procs="$tmp/procs" # one file per process we started: its PID
mkdir -p "$procs"
t_start=$EPOCHREALTIME
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

# stop_pid NAME: SIGTERM the process in $procs/NAME, SIGKILL after 10 s.
stop_pid() {
    local f="$procs/$1" pid
    [ -f "$f" ] || return 0
    pid=$(cat "$f")
    # A load client's file outlives it only if the helper died: its PID
    # may be another process's by now.
    case $1 in load-*) grep -qa xmppbots "/proc/$pid/cmdline" 2> /dev/null ||
        { rm -f "$f"; return 0; } ;;
    esac
    kill -TERM "$pid" 2> /dev/null || true
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2> /dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2> /dev/null || true
    wait "$pid" 2> /dev/null || true
    rm -f "$f"
}
save_logs() {
    local d
    for d in "$n1" "$n2"; do
        [ -d "$d/logs" ] || continue
        for f in error.log ejabberd.log console.out; do
            [ -f "$d/logs/$f" ] && cp "$d/logs/$f" "$out/logs/${d##*/}-$f"
        done
    done
    cp "$tmp"/*.log "$out/logs/" 2> /dev/null || true
}
cleanup() {
    local f pid epmd=""
    trap - EXIT INT TERM
    for f in "$procs"/*; do
        [ -e "$f" ] || continue
        stop_pid "${f##*/}"
    done
    [ -f "$n1/epmd.pid" ] && epmd=$(cat "$n1/epmd.pid")
    bash "$ejsh" stop "$n2" > /dev/null 2>&1 || true
    bash "$ejsh" stop "$n1" > /dev/null 2>&1 || true
    # Its epmd goes with node 1, unless a stray name keeps it.
    if [ -n "$epmd" ] && kill -0 "$epmd" 2> /dev/null; then
        kill "$epmd" 2> /dev/null || true
    fi
    save_logs
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# run_py ARGS...: the measuring helper, in the background so that a signal
# to this script is handled at once (its trap stops the helper and its
# load clients).
run_py() {
    "$py" "$helper" "$tmp/ctx.json" "$@" &
    echo $! > "$procs/helper"
    local rc=0
    wait "$!" || rc=$?
    rm -f "$procs/helper"
    return $rc
}

# finish_report: the protective limits ejabberd's logs show hit (a
# component stream or session killed for its queue, unacked stanzas), then
# report.md, the CSVs and the numbers on stdout.
finish_report() {
    local d
    for d in "$n1" "$n2"; do
        grep -hE 'max_queue|process_limit|Too many unacked|max_ack_queue' \
            "$d/logs/ejabberd.log" "$d/logs/error.log" 2> /dev/null | head -n 20 || true
    done > "$tmp/limits.log"
    run_py report "$(cut -d' ' -f1-3 /proc/loadavg)" \
        "$(awk -v a="$t_start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }')"
}

secret="cluster-bench-$$-$RANDOM"
printf '%s\n' "$secret" > "$tmp/secret"
printf '%s\n' pw > "$tmp/password"
components() { echo "echo.localhost $1 $secret; jump.localhost $2 $secret"; }

start_node1() {
    XB_EJABBERD_COMPONENT=$(components "$e1" "$j1") timeout 120 \
        bash "$ejsh" start "$n1" "$c1" plain "$dist1" "$epmd_port" \
        >> "$tmp/node1-start.log" 2>&1
}
start_node2() {
    XB_EJABBERD_JOIN=$n1 XB_EJABBERD_COMPONENT=$(components "$e2" "$j2") timeout 120 \
        bash "$ejsh" start "$n2" "$c2" plain "$dist2" \
        >> "$tmp/node2-start.log" 2>&1 || {
        tail -n 20 "$tmp/node2-start.log" >&2
        die "node 2 did not start or join (logs in $out/logs)"
    }
    in_cluster || die "node 2 started but node 1 does not list it in the cluster"
}
stop_node2() { bash "$ejsh" stop "$n2" > /dev/null 2>&1 || true; }
in_cluster() {
    local want
    want=$(bash "$ejsh" node "$n2")
    bash "$ejsh" ctl "$n1" list_cluster 2> /dev/null | grep -qx "$want"
}

say "profile $profile: phases $phases; E=$echo_bots S=$streams K=$clients M=$messages W=$window rounds=$rounds J=$jumpers"
started=""
for try in 1 2 3 4 5; do
    if [ -n "$port" ]; then
        [ "$try" = 1 ] || break
        ports_free "$port" || die "a port of $port..$((port + nports - 1)) is in use (--port P takes those)"
        p=$port
    else
        p=$(pick_port) || die "no $nports free ports in 20000-29999"
    fi
    set_ports "$p"
    if start_node1; then
        started=yes
        break
    fi
    bash "$ejsh" stop "$n1" > /dev/null 2>&1 || true
    rm -rf "$n1"
done
[ -n "$started" ] || { tail -n 20 "$tmp/node1-start.log" >&2; die "node 1 did not start"; }
say "node 1 ($(bash "$ejsh" node "$n1")) up: c2s $c1, components $e1 (echo) and $j1 (jumpers)"
bash "$ejsh" users "$n1" load "$clients" pw > "$tmp/users.log" 2>&1 ||
    { cat "$tmp/users.log" >&2; die "could not register load0..load$((clients - 1))"; }

# Everything the helper needs, once; it reads the nodes' PIDs from their
# directories each time (node 2 restarts).
"$py" - "$tmp/ctx.json" << EOF
import json, sys
json.dump({
    "bin": "$bin", "root": "$root", "tmp": "$tmp", "out": "$out",
    "procs": "$procs", "node1": "$n1", "node2": "$n2",
    "password_file": "$tmp/password", "secret_file": "$tmp/secret",
    "echo_stats": "$tmp/echo.json", "jumper_stats": "$tmp/jumper.json",
    "occupants": "$tmp/occupants.txt",
    "ports": {"c2s1": $c1, "echo1": $e1, "jump1": $j1, "c2s2": $c2,
              "echo2": $e2, "jump2": $j2, "dist1": $dist1, "dist2": $dist2,
              "epmd": $epmd_port},
    "profile": "$profile", "phases": "$phases",
    "echo_bots": $echo_bots, "streams": $streams, "clients": $clients,
    "messages": $messages, "window": $window, "rounds": $rounds,
    "message_timeout": $message_timeout, "jumpers": $jumpers, "rooms": $rooms,
    "jumper_window": $jumper_window,
    "fo_settle": $fo_settle, "fo_before": $fo_before, "fo_after": $fo_after,
    "jp_settle": $jp_settle, "jp_after": $jp_after,
    "load_start": "$load_start", "t_start": $t_start,
}, open(sys.argv[1], "w"), indent=1)
EOF
run_py init
can_report=yes

echo_cmd=()
# start_echo HOSTS TAG: the component echo bots, S streams over HOSTS.
start_echo() {
    rm -f "$tmp/echo.json"
    echo_cmd=("$bin" echo --component echo.localhost --secret-file "$tmp/secret"
        --jid 'echo%d@echo.localhost/bot' --count "$echo_bots"
        --connections "$streams" --host "$1" --connect-rate 5000
        --stats "$tmp/echo.json" --stats-interval 0.1 --no-progress
        --duration 3600)
    "${echo_cmd[@]}" > "$tmp/echo-$2.log" 2>&1 &
    echo $! > "$procs/echo"
    printf '%q ' "${echo_cmd[@]}" > "$tmp/cmd-echo-$2"
}
both_echo="127.0.0.1:$e1,127.0.0.1:$e2"
both_jump="127.0.0.1:$j1,127.0.0.1:$j2"
node2_up=""

# --- 1. throughput: one node, then the cluster, ROUNDS times ----------------
if has_phase 1; then
    for r in $(seq 1 "$rounds"); do
        if [ -n "$node2_up" ]; then
            say "phase 1 round $r: stopping node 2 (one-node run)"
            stop_node2
            node2_up=""
        fi
        say "phase 1 round $r: one node, $echo_bots echo bots on $streams streams at node 1, $clients load clients"
        start_echo "127.0.0.1:$e1" "single-$r"
        run_py echo-run single "$r" || die "phase 1 (one node, round $r) could not run"
        stop_pid echo
        say "phase 1 round $r: starting node 2"
        start_node2
        node2_up=yes
        say "phase 1 round $r: cluster, streams and clients over both nodes"
        start_echo "$both_echo" "cluster-$r"
        run_py echo-run cluster "$r" || die "phase 1 (cluster, round $r) could not run"
        stop_pid echo
    done
fi

# --- 2. failover under load ---------------------------------------------------
if has_phase 2; then
    if [ -z "$node2_up" ]; then
        say "phase 2: starting node 2"
        start_node2
        node2_up=yes
    fi
    say "phase 2: echo bots on both nodes, load at about half the throughput, node 2 killed after ${fo_settle}+${fo_before} s"
    start_echo "$both_echo" failover
    run_py failover || die "phase 2 could not run"
    node2_up=""
    bash "$ejsh" kill "$n2" > /dev/null 2>&1 || true
    stop_pid echo
fi

# --- 3. jumpers in rooms --------------------------------------------------------
# The occupants of bot_room_0..R-1 as node 1 sees them, every 0.5 s, from
# one hidden Erlang node (an ejabberdctl call per room would take 0.3-0.5
# s each): "unix_ms occupants rooms_alive" lines.
# shellcheck disable=SC2016 # Erlang, not shell
poll_erl='[N, Host, NR, Every, Max] = init:get_plain_arguments(),
Node = list_to_atom(N), H = list_to_binary(Host), Ms = list_to_integer(Every),
Rooms = [list_to_binary("bot_room_" ++ integer_to_list(I)) || I <- lists:seq(0, list_to_integer(NR) - 1)],
End = erlang:monotonic_time(millisecond) + 1000 * list_to_integer(Max),
Count = fun(R) -> case catch rpc:call(Node, mod_muc_admin, get_room_occupants_number, [R, H], 5000) of
    X when is_integer(X) -> X; _ -> -1 end end,
Loop = fun L() ->
    Ns = [Count(R) || R <- Rooms],
    io:format("~b ~b ~b~n", [os:system_time(millisecond), lists:sum([X || X <- Ns, X > 0]), length([X || X <- Ns, X >= 0])]),
    case erlang:monotonic_time(millisecond) < End of
        true -> timer:sleep(Ms), L();
        false -> halt(0)
    end end,
Loop().'
start_poller() { # SECONDS
    local node
    node=$(bash "$ejsh" node "$n1")
    (
        export HOME="$n1" ERL_EPMD_ADDRESS=127.0.0.1 ERL_EPMD_PORT="$epmd_port" \
            ERL_LIBS="$n1/lib" ERL_CRASH_DUMP="$tmp/poller_crash.dump"
        cd "$tmp"
        exec erl -sname "clpoll$$@localhost" -start_epmd false -hidden -noinput -noshell \
            -kernel inet_dist_use_interface '{127,0,0,1}' \
            -eval "$poll_erl" -extra "$node" conference.localhost "$rooms" 500 "$1"
    ) > "$tmp/occupants.txt" 2> "$tmp/poller.log" &
    echo $! > "$procs/poller"
}
if has_phase 3; then
    if [ -z "$node2_up" ]; then
        say "phase 3: starting node 2 (on its spool: it rejoins the cluster)"
        start_node2
        node2_up=yes
    fi
    say "phase 3: $jumpers jumpers in $rooms rooms on 2 streams (one per node), ${jumper_window} s window, then node 2 killed"
    rm -f "$tmp/jumper.json"
    jumper_cmd=("$bin" jumper --component jump.localhost --secret-file "$tmp/secret"
        --jid 'jumper%d@jump.localhost/bot' --count "$jumpers" --connections 2
        --host "$both_jump" --muc conference.localhost --rooms "$rooms"
        --connect-rate 500 --stats "$tmp/jumper.json" --stats-interval 0.5
        --no-progress --duration 3600)
    "${jumper_cmd[@]}" > "$tmp/jumper.log" 2>&1 &
    echo $! > "$procs/jumper"
    printf '%q ' "${jumper_cmd[@]}" > "$tmp/cmd-jumper"
    start_poller $((jumpers / 500 + 200 + jp_settle + jumper_window + jp_after))
    run_py jumpers || die "phase 3 could not run"
    node2_up=""
    bash "$ejsh" kill "$n2" > /dev/null 2>&1 || true
    stop_pid jumper
    stop_pid poller
    cp "$tmp/occupants.txt" "$out/logs/occupants.txt" 2> /dev/null || true
fi

can_report=""
finish_report
say "wrote $out/report.md"
