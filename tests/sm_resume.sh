#!/usr/bin/env bash
# Nothing lost across dropped connections (XEP-0198 stream management):
# xmppbots connects to a private server (Prosody with mod_smacks or, with
# XB_SERVER=ejabberd, ejabberd with mod_stream_mgmt) through a fault
# proxy (tests/faultproxy.py) that cuts its connections: RST, FIN,
# half-close and a silent blackhole (which only the keepalive notices).
#  - An independent slixmpp client sends 1,000 numbered messages to an echo
#    bot while the proxy cuts the bot's connection at least 10 times: every
#    message comes back exactly once, in order, and the bot's stats show a
#    resumption for every cut and nothing lost or duplicated.
#  - Jumpers in a room stay there across cuts (an observer sees no leave or
#    join, and they keep talking); after a server restart (resumption
#    impossible) they rejoin.
# $XB_WRAP may hold a wrapper such as valgrind.
set -u
# shellcheck source=tests/serverlib.sh
. "$(dirname "$0")/serverlib.sh"
read -r -a wrap <<< "${XB_WRAP:-}"

server_need 99
need 99 openssl timeout
need_slixmpp 99
need_built -x "$bin"

ca="$dir/certs/localhost.crt"
echo_pid="" jumper_pid="" proxy_pid="" count_pid=""

stop_all() {
    local pid
    for pid in $count_pid $echo_pid $jumper_pid; do
        kill "$pid" 2> /dev/null
    done
    for pid in $count_pid $echo_pid $jumper_pid; do
        wait_until 5 eval "! kill -0 $pid 2> /dev/null"
        kill_bot "$pid"
    done
    [ -z "$proxy_pid" ] || { kill "$proxy_pid" 2> /dev/null; wait "$proxy_pid" 2> /dev/null; }
    show_tails 25 "$tmp"/*.err "$tmp/count.out" "$tmp/observer.out" \
        "${server_logs[@]}"
}
on_exit stop_all

limit=240
[ ${#wrap[@]} -eq 0 ] || limit=900
xb=(timeout -k 5 "$limit" ${wrap[@]+"${wrap[@]}"} "$bin")

start_server() { server_start tls; }
start_on_free_port 22000 1 start_server
ok "$server_name started on 127.0.0.1:$port"
users_ok() {
    server_user echobot "$pw" && server_user tester "$pw" &&
        server_user observer "$pw" && server_users jumper 4 "$pw" &&
        server_has_user jumper3
}
check "accounts registered" users_ok

# --- the fault proxy ---------------------------------------------------------
"$py" "$src/tests/faultproxy.py" --listen 0 --target "$port" --control 0 \
    --lifetime $((limit + 60)) > "$tmp/proxy.out" 2> "$tmp/proxy.err" &
proxy_pid=$!
proxy_field() { # KEY: from the proxy's ready line
    "$py" -c 'import json, sys
print(json.loads(open(sys.argv[1]).readline())[sys.argv[2]])' \
        "$tmp/proxy.out" "$1" 2> /dev/null
}
check "fault proxy ready" wait_until 10 eval '[ -n "$(proxy_field listen)" ]'
pport=$(proxy_field listen)
cport=$(proxy_field control)

# proxy CMD: one control command; its JSON answer on stdout.
proxy() {
    "$py" - "$cport" "$1" << 'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall((sys.argv[2] + "\n").encode())
print(s.makefile().readline().strip())
EOF
}
# proxy_cut MODE: cuts every connection; how many it cut.
proxy_cut() {
    proxy "cut $1 all" | "$py" -c 'import json, sys; print(json.load(sys.stdin)["cut"])'
}

stat_is_at_least() { [ "$(jstat "$1" "$2")" -ge "$3" ]; }
stat_is() { [ "$(jstat "$1" "$2")" -eq "$3" ]; }

# --- echo: 1,000 numbered messages, at least 10 cuts -------------------------
# The keepalive notices the blackhole: a ping after 1 s of silence, dead
# after 1 s more.
"${xb[@]}" echo --jid echobot@localhost/bot --password "$pw" \
    --host 127.0.0.1 --port "$pport" --cafile "$ca" --keepalive 1 \
    --retries 50 --stats "$tmp/echo.json" --stats-interval 0.2 \
    --no-progress > "$tmp/echo.out" 2> "$tmp/echo.err" &
echo_pid=$!
check "echo bot online through the proxy" wait_until 20 stat_is "$tmp/echo.json" online 1
check "echo bot: stream management enabled" stat_is "$tmp/echo.json" sm_enabled 1

timeout 200 "$py" "$src/tests/slix_count.py" --host 127.0.0.1 --port "$port" \
    --jid tester@localhost --password "$pw" --cafile "$ca" \
    --echo-jid echobot@localhost/bot --count 1000 --rate 30 --wait 60 \
    --progress "$tmp/progress" --total 180 > "$tmp/count.out" 2>&1 &
count_pid=$!
sent() { cat "$tmp/progress" 2> /dev/null || echo 0; }
check "slixmpp started sending" wait_until 30 eval '[ "$(sent)" -gt 0 ]'

# Cut while the messages flow: every cut mode, twelve cuts, each after the
# bot resumed from the one before.
modes=(rst close half blackhole rst close half blackhole rst close rst half)
cuts=0 cut_fail=0
for mode in "${modes[@]}"; do
    sleep 1.2
    n=$(proxy_cut "$mode")
    if [ "$n" != 1 ]; then
        cut_fail=$((cut_fail + 1))
        echo "# cut $mode cut $n connections, not 1"
        continue
    fi
    cuts=$((cuts + 1))
    if ! wait_until 30 stat_is_at_least "$tmp/echo.json" sm_resumes "$cuts"; then
        cut_fail=$((cut_fail + 1))
        echo "# no resumption after cut $cuts ($mode)"
        break
    fi
    [ "$mode" != blackhole ] || proxy release > /dev/null
done
echo "# $cuts cuts while $(sent) of 1000 messages were sent"
check "the proxy cut the echo bot's connection 12 times, each time resumed" \
    eval '[ "$cuts" -eq 12 ] && [ "$cut_fail" -eq 0 ]'

wait "$count_pid"
count_rc=$?
count_pid=""
count_json=$(tail -n 1 "$tmp/count.out")
echo "# slix_count: $count_json"
count_field() {
    "$py" -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' \
        "$count_json" "$1" 2> /dev/null
}
check "slix_count exit 0" [ "$count_rc" -eq 0 ]
check "1000 messages echoed" [ "$(count_field echoed)" = 1000 ]
check "none missing" [ "$(count_field missing)" = 0 ]
check "none twice" [ "$(count_field duplicates)" = 0 ]
check "all in order" [ "$(count_field out_of_order)" = 0 ]
sleep 0.5
check "bot stats: 12 or more resumes" stat_is_at_least "$tmp/echo.json" sm_resumes 12
check "bot stats: no resume failure" stat_is "$tmp/echo.json" sm_resume_failures 0
check "bot stats: nothing lost" stat_is "$tmp/echo.json" sm_lost 0
check "bot stats: nothing possibly duplicated" stat_is "$tmp/echo.json" sm_duplicated 0
check "bot stats: echoed 1000" stat_is "$tmp/echo.json" echoed 1000
check "bot stats: acks arrived" stat_is_at_least "$tmp/echo.json" sm_acks 1
kill "$echo_pid"
wait "$echo_pid"
rc=$?
echo_pid=""
check "echo bot exits 0 on SIGTERM (got $rc)" [ "$rc" -eq 0 ]
grep -q '^stream management: .*resumes [1-9]' "$tmp/echo.out"
check "echo bot summary shows the resumes" [ $? -eq 0 ]

# --- jumpers stay in their room across cuts ----------------------------------
"${xb[@]}" jumper --jid 'jumper%d@localhost/bot' --count 4 --password "$pw" \
    --host 127.0.0.1 --port "$pport" --cafile "$ca" --keepalive 1 \
    --retries 50 --rooms 1 --phrases 1000000 --interval 0.3-0.8 \
    --stats "$tmp/jumper.json" --stats-interval 0.2 --no-progress \
    > "$tmp/jumper.out" 2> "$tmp/jumper.err" &
jumper_pid=$!
check "4 jumpers joined the room" wait_until 30 stat_is "$tmp/jumper.json" joins 4

# The observer joins after them and watches while their connections are
# cut three times (rst, half-close, blackhole).
timeout 60 "$py" "$src/tests/slix_observer.py" --host 127.0.0.1 --port "$port" \
    --jid observer@localhost --password "$pw" --cafile "$ca" \
    --room bot_room_0@conference.localhost --prefix jumper --seconds 14 \
    --json "$tmp/observer.json" > "$tmp/observer.out" 2>&1 &
observer_pid=$!
sleep 3
jcuts=0
for mode in rst half blackhole; do
    [ "$(proxy_cut "$mode")" = 4 ] && jcuts=$((jcuts + 1))
    wait_until 30 stat_is_at_least "$tmp/jumper.json" sm_resumes $((jcuts * 4))
    [ "$mode" != blackhole ] || proxy release > /dev/null
    sleep 1
done
wait "$observer_pid"
obs() {
    "$py" -c 'import json, sys; v = json.load(open(sys.argv[1]))[sys.argv[2]]
print(len(v) if isinstance(v, list) else v)' "$tmp/observer.json" "$1" 2> /dev/null
}
check "3 cuts of the 4 jumpers' connections" [ "$jcuts" -eq 3 ]
check "jumpers: 12 resumes" stat_is_at_least "$tmp/jumper.json" sm_resumes 12
check "observer saw the 4 jumpers in the room" [ "$(obs initial)" = 4 ]
check "observer saw no jumper leave" [ "$(obs leaves)" = 0 ]
check "observer saw no jumper join again" [ "$(obs joins)" = 0 ]
check "jumpers kept talking (4 nicks)" [ "$(obs message_nicks)" = 4 ]
check "jumpers: still 4 joins, no leave" \
    eval 'stat_is "$tmp/jumper.json" joins 4 && stat_is "$tmp/jumper.json" leaves 0'

# --- a server restart: resumption impossible, they rejoin --------------------
server_stop
check "$server_name stopped" wait_until 20 eval '! port_busy "$port"'
check "$server_name restarted" start_server
slix_check "jumpers rejoined and talk after the restart" 60 slix_observer.py \
    --host 127.0.0.1 --port "$port" --jid observer@localhost --password "$pw" \
    --cafile "$ca" --room bot_room_0@conference.localhost --prefix jumper \
    --seconds 45 --expect-messages 8
if wait_until 10 stat_is_at_least "$tmp/jumper.json" sm_resume_failures 4; then
    ok "jumpers: a resume failure each, nothing lost"
else
    bad "jumpers: a resume failure each, nothing lost (sm_resume_failures" \
        "$(jstat "$tmp/jumper.json" sm_resume_failures), sm_resumes" \
        "$(jstat "$tmp/jumper.json" sm_resumes), sm_lost $(jstat "$tmp/jumper.json" sm_lost))"
fi
check "jumpers: 8 joins" wait_until 10 stat_is_at_least "$tmp/jumper.json" joins 8
kill "$jumper_pid"
wait "$jumper_pid"
rc=$?
jumper_pid=""
check "jumpers exit 0 on SIGTERM (got $rc)" [ "$rc" -eq 0 ]
finish
