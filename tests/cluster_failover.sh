#!/usr/bin/env bash
# The component model past one machine: a two-node ejabberd cluster on
# 127.0.0.1 (two Erlang nodes, their own ports and spools, one cookie,
# join_cluster), with component bots connected to both nodes for the same
# domains (--host NODE1,NODE2: stream k starts at node k mod 2). 20 echo
# bots (4 streams) answer an independent slixmpp sender on node 1, and 20
# jumpers (2 streams) talk in 4 rooms. Node 2 is killed with SIGKILL while
# the sender sends: its streams move to node 1 at once, every message is
# answered in the end (the sender sends a message again when its answer is
# 5 s late, as a user would; how many were in flight at the kill and what
# became of them is printed), and the jumpers are all back in rooms on node
# 1 (those whose room went down with node 2 find out from the error to
# their next phrase). Then node 2 comes back on its spool and rejoins.
# $XB_WRAP may hold a wrapper such as valgrind.
set -u
XB_SERVER=ejabberd
# shellcheck source=tests/serverlib.sh
. "$(dirname "$0")/serverlib.sh"
read -r -a wrap <<< "${XB_WRAP:-}"

server_need 99
need 99 openssl timeout
need_slixmpp 99
need_built -x "$bin"

ca="$dir/certs/localhost.crt"
dir2="$tmp/ejabberd2"
secret=cluster-$$-secret
printf '%s\n' "$secret" > "$tmp/secret"
echo_pid="" jumper_pid="" sender_pid=""

stop_all() {
    local pid
    for pid in $sender_pid $echo_pid $jumper_pid; do
        kill "$pid" 2> /dev/null
    done
    for pid in $sender_pid $echo_pid $jumper_pid; do
        wait_until 5 eval "! kill -0 $pid 2> /dev/null"
        kill_bot "$pid"
    done
    bash "$server_sh" stop "$dir2" > /dev/null 2>&1
    show_tails 15 "$tmp"/*.err "$tmp/sender.out" "$dir2/logs/error.log" \
        "${server_logs[@]}"
}
on_exit stop_all

limit=180
[ ${#wrap[@]} -eq 0 ] || limit=500
xb=(timeout -k 5 "$limit" ${wrap[@]+"${wrap[@]}"} "$bin")

# Ports from $port: node 1's clients, its echo and jumper component
# listeners (one each: ejabberd sends a listener's every domain to each
# component on it), the same three for node 2, node 2's Erlang
# distribution; node 1's distribution and the cluster's epmd follow
# (serverlib).
components() { echo "echo.localhost $1 $secret; jump.localhost $(($1 + 1)) $secret"; }
start_node1() { XB_COMPONENT=$(components $((port + 1))) server_start tls; }
start_node2() {
    XB_EJABBERD_JOIN="$dir" XB_EJABBERD_COMPONENT=$(components $((port + 4))) \
        timeout 60 bash "$server_sh" start "$dir2" $((port + 3)) tls \
        $((port + 6)) > "$tmp/node2-start.err" 2>&1
}
start_on_free_port 24000 7 start_node1
e1=$((port + 1)) j1=$((port + 2)) e2=$((port + 4)) j2=$((port + 5))
ok "node 1 started: clients on $port, components on $e1 (echo) and $j1 (jumpers)"
check "node 2 started and joined the cluster (clients on $((port + 3)), components on $e2 and $j2)" \
    start_node2
node1=$(bash "$server_sh" node "$dir") node2=$(bash "$server_sh" node "$dir2")
cluster() { bash "$server_sh" ctl "$1" list_cluster 2> /dev/null | sort | tr '\n' ' '; }
want_cluster=$(printf '%s\n' "$node1" "$node2" | sort | tr '\n' ' ')
check "both nodes list the cluster ($want_cluster)" \
    eval '[ "$(cluster "$dir")" = "$want_cluster" ] && [ "$(cluster "$dir2")" = "$want_cluster" ]'
check "accounts registered (on node 1, seen by node 2)" \
    eval 'server_user sender "$pw" && bash "$server_sh" ctl "$dir2" check_account sender localhost > /dev/null'

comp=(--secret-file "$tmp/secret" --no-progress --stats-interval 0.2)
stat_is() { [ "$(jstat "$1" "$2")" -eq "$3" ]; }
stat_is_at_least() { [ "$(jstat "$1" "$2")" -ge "$3" ]; }
# ready_at FILE SERVER_INDEX: the component streams ready at that server.
ready_at() {
    "$py" -c 'import json, sys
try:
    print(json.load(open(sys.argv[1]))["servers"][int(sys.argv[2])]["streams_ready"])
except Exception:
    print(-1)' "$1" "$2"
}
ready_is() { [ "$(ready_at "$1" "$2")" -eq "$3" ]; }

# --- the bots, spread over both nodes ---------------------------------------------
"${xb[@]}" echo --component echo.localhost --jid 'echo%d@echo.localhost/bot' \
    --count 20 --connections 4 --host "127.0.0.1:$e1,127.0.0.1:$e2" "${comp[@]}" \
    --stats "$tmp/echo.json" \
    > "$tmp/echo.out" 2> "$tmp/echo.err" &
echo_pid=$!
"${xb[@]}" jumper --component jump.localhost --jid 'jumper%d@jump.localhost/bot' \
    --count 20 --connections 2 --host "127.0.0.1:$j1,127.0.0.1:$j2" "${comp[@]}" \
    --stats "$tmp/jumper.json" \
    --muc conference.localhost --rooms 4 --phrases 100000-100000 \
    --interval 0.5-1 > "$tmp/jumper.out" 2> "$tmp/jumper.err" &
jumper_pid=$!
check "20 echo bots online" wait_until 30 stat_is "$tmp/echo.json" online 20
check "echo streams: 2 at node 1, 2 at node 2" \
    eval 'ready_is "$tmp/echo.json" 0 2 && ready_is "$tmp/echo.json" 1 2'
check "jumper streams: 1 at node 1, 1 at node 2" \
    wait_until 10 eval 'ready_is "$tmp/jumper.json" 0 1 && ready_is "$tmp/jumper.json" 1 1'
# occupants NODE_DIR: jumpers in the 4 rooms, as that node's MUC sees them.
occupants() {
    local r n total=0
    for r in 0 1 2 3; do
        n=$(bash "$server_sh" ctl "$1" get_room_occupants_number \
            "bot_room_$r" conference.localhost 2> /dev/null) || n=0
        case "$n" in '' | *[!0-9]*) n=0 ;; esac
        total=$((total + n))
    done
    echo "$total"
}
check "20 jumpers in the 4 rooms (node 2's view: $(occupants "$dir2"))" \
    wait_until 40 eval '[ "$(occupants "$dir")" -eq 20 ]'

# --- node 2 killed while the sender sends ---------------------------------------------
"$py" "$src/tests/slix_failover.py" --host 127.0.0.1 --port "$port" \
    --jid sender@localhost --password "$pw" --cafile "$ca" \
    --echo-jid 'echo%d@echo.localhost' --bots 20 --count 600 --rate 40 \
    --retry-after 5 --mark "$tmp/killed" --progress "$tmp/sent" --total 120 \
    > "$tmp/sender.out" 2> "$tmp/sender.err" &
sender_pid=$!
sent() { cat "$tmp/sent" 2> /dev/null || echo 0; }
check "the sender is under way (200 of 600 sent)" wait_until 60 eval '[ "$(sent)" -ge 200 ]'
reconnects_before=$(jstat "$tmp/echo.json" reconnects)
joins_before=$(jstat "$tmp/jumper.json" joins)
# Rooms lost before the kill (a room created on both nodes at the start,
# whose jumpers joined again) are not the kill's.
lost_before=$(jstat "$tmp/jumper.json" rooms_lost)
said_before=$(jstat "$tmp/jumper.json" groupchat_sent)
touch "$tmp/killed"
killed_at=$(date +%s.%N)
bash "$server_sh" kill "$dir2" > /dev/null 2>&1
check "node 2 killed (SIGKILL), its component ports closed" \
    wait_until 10 eval '! port_busy "$e2" && ! port_busy "$j2"'
check "every echo stream is ready at node 1" \
    wait_until 30 eval 'ready_is "$tmp/echo.json" 0 4 && ready_is "$tmp/echo.json" 1 0'
failover_s=$(awk -v a="$killed_at" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
check "the echo bots stayed online (20): their stanzas went out on node 1's streams" \
    stat_is "$tmp/echo.json" online 20
check "2 echo streams reconnected (to node 1; ${failover_s} s after the kill, measured)" \
    stat_is_at_least "$tmp/echo.json" reconnects $((reconnects_before + 2))
check "the jumper stream of node 2 moved to node 1" \
    wait_until 30 eval 'ready_is "$tmp/jumper.json" 0 2'
wait "$sender_pid"
rc=$?
sender_pid=""
summary=$(tail -n 1 "$tmp/sender.out")
check "every message of the sender answered (exit $rc): $summary" [ "$rc" -eq 0 ]
in_flight=$(echo "$summary" | "$py" -c 'import json, sys; print(json.load(sys.stdin)["in_flight"])')
check "the sender saw the kill (in flight then: $in_flight)" [ "$in_flight" -ge 0 ]
check "no answer came back to the echo bots (ignored 0): each went out through the node that delivered its message" \
    stat_is "$tmp/echo.json" ignored 0
check "20 jumpers back in the 4 rooms, on node 1" \
    wait_until 60 eval '[ "$(occupants "$dir")" -eq 20 ]'
lost=$(($(jstat "$tmp/jumper.json" rooms_lost) - lost_before))
joins=$(jstat "$tmp/jumper.json" joins)
check "jumpers whose room went down joined again (rooms lost $lost, joins $joins_before -> $joins)" \
    [ "$joins" -eq $((joins_before + lost)) ]
check "no stanza for another domain reached a component stream" \
    eval '[ "$(jstat "$tmp/echo.json" foreign_dropped)" -eq 0 ] && [ "$(jstat "$tmp/jumper.json" foreign_dropped)" -eq 0 ]'
check "jumpers talk on (phrases $said_before -> more)" \
    wait_until 10 stat_is_at_least "$tmp/jumper.json" groupchat_sent $((said_before + 20))

# --- node 2 back ---------------------------------------------------------------------
check "node 2 restarted on its spool, back in the cluster" \
    eval 'start_node2 && [ "$(cluster "$dir")" = "$want_cluster" ]'
check "the echo bots still answer through node 1's streams" \
    stat_is "$tmp/echo.json" online 20

for pid in $echo_pid $jumper_pid; do
    kill "$pid"
done
wait "$echo_pid"
rc_echo=$?
wait "$jumper_pid"
rc_jumper=$?
echo_pid="" jumper_pid=""
check "bots exit 0 on SIGTERM (echo $rc_echo, jumper $rc_jumper)" \
    eval '[ "$rc_echo" -eq 0 ] && [ "$rc_jumper" -eq 0 ]'
check "no jumper gave up" grep -q '^bots 20: online at some point 20, gave up 0' "$tmp/jumper.out"
finish
