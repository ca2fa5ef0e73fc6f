#!/usr/bin/env bash
# The xmppbots CLI against a real server (STARTTLS required) on 127.0.0.1,
# Prosody or, with XB_SERVER=ejabberd, ejabberd (tests/serverlib.sh),
# checked by independent slixmpp clients: echoes are exact and only chat or
# normal messages are answered, IQs are answered; jumpers are seen joining,
# talking and leaving a room; wrong password, closed port and untrusted
# certificate give exit statuses 3, 4, 5; bots reconnect and rejoin after a
# server crash; SIGTERM shuts them down cleanly. Without the server, openssl or
# slixmpp it fails (hard error 99) and says what to install: ./dev deps.
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
echo_pid="" jumper_pid=""

stop_bots() {
    local pid n
    for pid in $echo_pid $jumper_pid; do
        kill "$pid" 2> /dev/null # timeout passes SIGTERM on to the bot
    done
    for pid in $echo_pid $jumper_pid; do
        n=25
        while [ "$n" -gt 0 ] && kill -0 "$pid" 2> /dev/null; do
            sleep 0.2
            n=$((n - 1))
        done
        kill_bot "$pid"
    done
    show_tails 15 "$tmp"/*.err "${server_logs[@]}"
}
on_exit stop_bots

# Seconds, as a decimal, since the epoch.
now() { date +%s.%N; }
elapsed_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# The CLI, bounded, wrapped with $XB_WRAP if set. An array, not a function:
# a function run with & would be a subshell, and $! its PID, not the bot's.
# A wrapper such as valgrind makes everything several times slower.
limit=100
[ ${#wrap[@]} -eq 0 ] || limit=400
xb=(timeout -k 5 "$limit" ${wrap[@]+"${wrap[@]}"} "$bin")
# The same for runs expected to end at once (failures).
xb_short=(timeout -k 2 $((limit / 5)) ${wrap[@]+"${wrap[@]}"} "$bin")

common=(--host 127.0.0.1 --cafile "$ca")

start_server() { server_start tls; }

# --- the server on a free port -------------------------------------------------
start_on_free_port 20000 1 start_server
ok "$server_name started with STARTTLS required on 127.0.0.1:$port"
# A port nobody listens on, for the unreachable-server case.
closed=$((port + 1))
while port_busy "$closed"; do closed=$((closed + 1)); done

users_ok() {
    server_user echobot "$pw" && server_user tester "$pw" &&
        server_user observer "$pw" && server_users jumper 4 "$pw" &&
        server_users user 2 "$pw" && server_has_user jumper3
}
check "accounts registered" users_ok

# --- echo bot ---------------------------------------------------------------
"${xb[@]}" echo --jid echobot@localhost/bot --password "$pw" --port "$port" \
    "${common[@]}" --retries 30 --stats "$tmp/echo.json" --stats-interval 0.5 \
    --no-progress > "$tmp/echo.out" 2> "$tmp/echo.err" &
echo_pid=$!
online_is() { [ "$(jstat "$1" online)" -eq "$2" ]; }
check "echo bot online (stats: online 1)" wait_until 15 online_is "$tmp/echo.json" 1

slix_common=(--host 127.0.0.1 --port "$port" --password "$pw" --cafile "$ca")
slix_check "slixmpp echo cases" 90 slix_echo.py "${slix_common[@]}" \
    "${slix_echo_opts[@]}" --jid tester@localhost --echo-jid echobot@localhost/bot
echoed_at_least() { [ "$(jstat "$tmp/echo.json" echoed)" -ge "$1" ]; }
check "echo bot stats count the echoes" wait_until 3 echoed_at_least 11

# --- load bots against the echo bot ----------------------------------------
# Two load bots (user0, user1), 4 messages in flight each; they stop by
# themselves when all 60 messages are back.
"${xb[@]}" load --jid 'user%d@localhost/load' --count 2 --password "$pw" \
    --port "$port" "${common[@]}" --to echobot@localhost --messages 30 \
    --window 4 --stats "$tmp/load.json" --no-progress \
    > "$tmp/load.out" 2> "$tmp/load.err" < /dev/null
rc=$?
check "load: exit 0 when every message came back intact (got $rc)" [ "$rc" -eq 0 ]
check "load: 60 sent, 60 answered" \
    eval '[ "$(jstat "$tmp/load.json" sent)" -eq 60 ] && [ "$(jstat "$tmp/load.json" answered)" -eq 60 ]'
check "load: none lost or corrupt" \
    eval '[ "$(jstat "$tmp/load.json" lost)" -eq 0 ] && [ "$(jstat "$tmp/load.json" corrupt)" -eq 0 ]'
check "load: every bot did its work (done 2)" [ "$(jstat "$tmp/load.json" done)" -eq 2 ]
rtt_n() {
    "$py" -c 'import json, sys
print(json.load(open(sys.argv[1]))["rtt"]["n"])' "$tmp/load.json" 2> /dev/null
}
check "load: 60 round-trip samples" [ "$(rtt_n)" = 60 ]
# Every counter the load kind declares is in its JSON stats (the CLI
# writes them from the kind's table, naming none).
"$bin" kinds > "$tmp/kinds.json"
missing_counters() { # KIND FILE: the KIND counters FILE lacks
    "$py" -c 'import json, sys
kinds = {k["kind"]: k for k in json.load(open(sys.argv[1]))["kinds"]}
stats = json.load(open(sys.argv[3]))
print(" ".join(c["name"] for c in kinds[sys.argv[2]]["counters"] if c["name"] not in stats))' \
        "$tmp/kinds.json" "$1" "$2"
}
check "load: its JSON stats have every load counter" [ -z "$(missing_counters load "$tmp/load.json")" ]

# The client really verifies the server certificate (else the above proves
# little about TLS): it must refuse an untrusted one.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
    -addext subjectAltName=DNS:localhost -keyout "$tmp/wrong.key" \
    -out "$tmp/wrong.crt" 2> /dev/null
slix_refuses_wrong_ca() {
    ! timeout 30 "$py" "$src/tests/slix_echo.py" --host 127.0.0.1 \
        --port "$port" --password "$pw" --cafile "$tmp/wrong.crt" \
        --jid tester@localhost --quick --total 15 > "$tmp/slix_wrong.log" 2>&1 &&
        grep -q "certificate verification failed" "$tmp/slix_wrong.log"
}
check "slixmpp refuses an untrusted certificate" slix_refuses_wrong_ca

# --- jumpers watched from the room ------------------------------------------
"${xb[@]}" jumper --jid 'jumper%d@localhost' --count 4 --password "$pw" \
    --port "$port" "${common[@]}" --rooms 1 --interval 0.2-0.5 --phrases 2-3 \
    --retries 30 --stats "$tmp/jumper.json" --stats-interval 0.5 \
    --no-progress > "$tmp/jumper.out" 2> "$tmp/jumper.err" &
jumper_pid=$!
check "4 jumpers online" wait_until 15 online_is "$tmp/jumper.json" 4

slix_check "observer" 40 slix_observer.py "${slix_common[@]}" \
    --jid observer@localhost --room bot_room_0@conference.localhost \
    --nick observer --prefix jumper --seconds 20 --expect-joins 2 \
    --expect-messages 3 --expect-leaves 1

# --- failures and their exit statuses -------------------------------------
# expect_exit NAME STATUS STDERR-REGEX ARGS...: a short run of the CLI.
expect_exit() {
    local name=$1 want=$2 pattern=$3 got lines
    shift 3
    "${xb_short[@]}" "$@" > "$tmp/fail.out" 2> "$tmp/fail.err"
    got=$?
    if [ "$got" -ne "$want" ]; then
        bad "$name: exit status $got, want $want"
        sed 's/^/    /' "$tmp/fail.err"
        return
    fi
    if ! grep -Eq -- "$pattern" "$tmp/fail.err"; then
        bad "$name: stderr lacks /$pattern/"
        sed 's/^/    /' "$tmp/fail.err"
        return
    fi
    ok "$name: exit $got, $(grep -E -- "$pattern" "$tmp/fail.err" | head -n 1)"
    lines=$(grep -Ec -- "$pattern" "$tmp/fail.err")
    check "$name: the reason is on one line" [ "$lines" -eq 1 ]
}
expect_exit "wrong password" 3 "not-authorized|authentication failed" \
    echo --jid echobot@localhost --password wrong --port "$port" "${common[@]}"
expect_exit "closed port" 4 "connect|refused|unreachable" \
    echo --jid echobot@localhost --password "$pw" --port "$closed" \
    "${common[@]}" --retries 0
expect_exit "untrusted certificate" 5 "certificate" \
    echo --jid echobot@localhost --password "$pw" --port "$port" \
    --host 127.0.0.1 --cafile "$tmp/wrong.crt"

# One retry after a backoff: two connection attempts, then exit 4. (How
# long the backoff takes is the CLI's business, not asserted here: no
# timing assertions in tests.)
"${xb_short[@]}" echo --jid echobot@localhost --password "$pw" --port "$closed" \
    "${common[@]}" --retries 1 --stats "$tmp/retry.json" \
    --stats-interval 0.1 > /dev/null 2> "$tmp/retry.err"
rc=$?
retried_once() {
    [ "$rc" -eq 4 ] && [ "$(jstat "$tmp/retry.json" connect_attempts)" -eq 2 ]
}
check "closed port, --retries 1: exit 4 after exactly 2 attempts" retried_once

# --- server crash and restart ---------------------------------------------
# SIGKILL is delivered at once, but the process (and its socket) may take
# a moment to go away.
port_closed() { ! port_busy "$port"; }
server_gone() { server_kill && wait_until 5 port_closed; }
check "$server_name killed (SIGKILL), its port closed" server_gone
all_offline() { online_is "$tmp/echo.json" 0 && online_is "$tmp/jumper.json" 0; }
check "bots notice the lost connections (online 0)" wait_until 10 all_offline
sleep 0.6 # one more stats write, so that joins is final
joins0=$(jstat "$tmp/jumper.json" joins)
t0=$(now)
check "$server_name restarted on port $port" start_server

echo_back() {
    online_is "$tmp/echo.json" 1 && [ "$(jstat "$tmp/echo.json" reconnects)" -ge 1 ]
}
jumpers_back() {
    online_is "$tmp/jumper.json" 4 &&
        [ "$(jstat "$tmp/jumper.json" reconnects)" -ge 4 ]
}
jumpers_rejoined() { [ "$(jstat "$tmp/jumper.json" joins)" -gt "$joins0" ]; }
check "echo bot reconnected (online 1, reconnects >= 1)" wait_until 60 echo_back
check "all 4 jumpers reconnected (online 4, reconnects >= 4)" wait_until 30 jumpers_back
check "jumpers rejoined rooms (joins $joins0 -> more)" wait_until 20 jumpers_rejoined
echo "# reconnect checks done $(elapsed_since "$t0") s after the restart"

slix_check "echo works after the restart" 30 slix_echo.py "${slix_common[@]}" \
    --jid tester@localhost --echo-jid echobot@localhost/bot --quick
slix_check "jumpers talk after the restart" 40 slix_observer.py \
    "${slix_common[@]}" --jid observer@localhost --prefix jumper --seconds 15 \
    --expect-messages 2 --expect-leaves 1

# --- clean shutdown on SIGTERM ------------------------------------------------
# stop_bot NAME PID [storm]: SIGTERM, then exit status 0 within 5 s
# (unwrapped). With "storm", SIGTERM again and again until the bot is gone,
# as timeout(1) sends two (to the bot, then to its process group): a late
# one must not kill the bot before its summary.
stop_bot() {
    local name=$1 pid=$2 storm=${3:-} n=$((limit / 4)) rc end bot
    bot=$(ps -o pid= --ppid "$pid" 2> /dev/null | head -n 1) # timeout's child
    if ! kill -TERM "$pid" 2> /dev/null; then
        wait "$pid"
        bad "$name had already exited before SIGTERM (status $?)"
        return
    fi
    if [ -n "$storm" ]; then
        end=$((SECONDS + limit / 20))
        while [ "$SECONDS" -lt "$end" ] && kill -TERM ${bot:-$pid} 2> /dev/null; do :; done
    fi
    while [ "$n" -gt 0 ] && kill -0 "$pid" 2> /dev/null; do
        sleep 0.2
        n=$((n - 1))
    done
    if kill -0 "$pid" 2> /dev/null; then
        bad "$name still running $((limit / 20)) s after SIGTERM"
        kill_bot "$pid"
        return
    fi
    wait "$pid"
    rc=$?
    check "$name exits 0 on SIGTERM (got $rc)" [ "$rc" -eq 0 ]
}
stop_bot "echo bot (a SIGTERM storm)" "$echo_pid" storm
echo_pid=""
stop_bot "jumpers" "$jumper_pid"
jumper_pid=""
check "echo: its JSON stats have every echo counter" [ -z "$(missing_counters echo "$tmp/echo.json")" ]
check "jumper: its JSON stats have every jumper counter" \
    [ -z "$(missing_counters jumper "$tmp/jumper.json")" ]
check "echo bot summary on stdout" \
    grep -q "^bots 1: online at some point 1, gave up 0" "$tmp/echo.out"
check "jumper summary on stdout" \
    grep -q "^bots 4: online at some point 4, gave up 0" "$tmp/jumper.out"
check "jumper summary names the kind's counters" \
    grep -Eq "^jumper: .*rooms joined [1-9]" "$tmp/jumper.out"
check "jumpers joined rooms without a join error (final stats)" \
    eval '[ "$(jstat "$tmp/jumper.json" joins)" -gt 0 ] && [ "$(jstat "$tmp/jumper.json" join_errors)" -eq 0 ]'

finish
