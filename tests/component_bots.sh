#!/usr/bin/env bash
# Component bots (XEP-0114) against a private server (Prosody or, with
# XB_SERVER=ejabberd, ejabberd) with an external component
# "bots.localhost" on 127.0.0.1, checked by independent slixmpp clients:
# 50 echo bots over the component streams answer slixmpp's echo cases
# exactly (bare and full JIDs, pings, unknown IQs); component jumpers are
# seen joining a room, talking and leaving; a wrong secret gives exit
# status 3 and one line; after the server is killed and restarted the
# stream comes back and the jumpers rejoin; SIGTERM ends the run cleanly.
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
secret=comp-$$-secret
printf '%s\n' "$secret" > "$tmp/secret"
echo_pid="" jumper_pid="" other_pid=""

stop_bots() {
    local pid
    for pid in $echo_pid $jumper_pid $other_pid; do
        kill "$pid" 2> /dev/null
    done
    for pid in $echo_pid $jumper_pid $other_pid; do
        wait_until 5 eval "! kill -0 $pid 2> /dev/null"
        kill_bot "$pid"
    done
    show_tails 15 "$tmp"/*.err "${server_logs[@]}"
}
on_exit stop_bots

limit=120
[ ${#wrap[@]} -eq 0 ] || limit=400
xb=(timeout -k 5 "$limit" ${wrap[@]+"${wrap[@]}"} "$bin")

# The client port and, next to it, the component port.
start_server() {
    XB_COMPONENT="bots.localhost $((port + 1)) $secret" server_start tls
}
start_on_free_port 23000 2 start_server
cport=$((port + 1))
ok "$server_name started: clients on $port, component bots.localhost on $cport"
users_ok() { server_user tester "$pw" && server_user observer "$pw"; }
check "accounts registered" users_ok

comp=(--component bots.localhost --secret-file "$tmp/secret" --host 127.0.0.1
    --port "$cport" --no-progress)
slix_common=(--host 127.0.0.1 --port "$port" --password "$pw" --cafile "$ca")
stat_is() { [ "$(jstat "$1" "$2")" -eq "$3" ]; }
stat_is_at_least() { [ "$(jstat "$1" "$2")" -ge "$3" ]; }

# --- 50 echo bots, two streams asked for ------------------------------------------
"${xb[@]}" echo --jid 'echo%d@bots.localhost/bot' --count 50 "${comp[@]}" \
    --connections 2 --stats "$tmp/echo.json" --stats-interval 0.2 \
    > "$tmp/echo.out" 2> "$tmp/echo.err" &
echo_pid=$!
check "50 component echo bots online" wait_until 20 stat_is "$tmp/echo.json" online 50
if [ "$server" = ejabberd ]; then
    # ejabberd takes every stream for the domain and spreads the domain's
    # stanzas over them, not by destination (a message to a bot of the
    # first stream arrives on the second too): each stream serves every
    # bot.
    check "both streams accepted (logins 2)" \
        wait_until 10 stat_is "$tmp/echo.json" logins 2
else
    # Prosody takes one stream per component and refuses the second
    # (conflict): its bots (the odd ones) are served by the first.
    check "one stream carries them (logins 1)" stat_is "$tmp/echo.json" logins 1
    check "the second stream was refused (conflict)" \
        wait_until 10 eval 'grep -q "conflict" "$tmp/echo.err"'
fi
slix_check "slixmpp echo cases against echo7@bots.localhost" 90 slix_echo.py \
    "${slix_common[@]}" "${slix_echo_opts[@]}" --jid tester@localhost \
    --echo-jid echo7@bots.localhost/bot
slix_check "and against echo49" 60 slix_echo.py "${slix_common[@]}" --quick \
    --jid tester@localhost --echo-jid echo49@bots.localhost/bot
check "echo stats count the echoes" wait_until 3 stat_is_at_least "$tmp/echo.json" echoed 12

# A second process's stream for the same domain: Prosody refuses it
# (conflict); ejabberd takes it, and then spreads the domain's stanzas
# over all three streams, whichever process has the bot, so it only comes
# online and goes. The first keeps working.
if [ "$server" = ejabberd ]; then
    "${xb[@]}" echo --jid 'other@bots.localhost' "${comp[@]}" --retries 0 \
        --stats "$tmp/conflict.json" --stats-interval 0.2 \
        > /dev/null 2> "$tmp/conflict.err" &
    other_pid=$!
    check "a second process's stream for the domain is accepted (online 1)" \
        wait_until 20 stat_is "$tmp/conflict.json" online 1
    kill "$other_pid"
    wait "$other_pid"
    rc=$?
    other_pid=""
    check "and it exits 0 on SIGTERM (got $rc)" [ "$rc" -eq 0 ]
else
    "${xb[@]}" echo --jid 'other@bots.localhost' "${comp[@]}" --retries 0 \
        --stats "$tmp/conflict.json" > /dev/null 2> "$tmp/conflict.err"
    rc=$?
    check "a second stream for the domain is refused: conflict (exit $rc)" \
        grep -q 'conflict' "$tmp/conflict.err"
fi
slix_check "the first still echoes" 60 slix_echo.py "${slix_common[@]}" --quick \
    --jid tester@localhost --echo-jid echo3@bots.localhost/bot
kill "$echo_pid"
wait "$echo_pid"
rc=$?
echo_pid=""
check "echo bots exit 0 on SIGTERM (got $rc)" [ "$rc" -eq 0 ]
check "echo summary on stdout" grep -q '^bots 50: online at some point 50, gave up 0' "$tmp/echo.out"

# --- wrong secret ----------------------------------------------------------------
"${xb[@]}" echo --jid 'e@bots.localhost' --component bots.localhost \
    --secret wrong --host 127.0.0.1 --port "$cport" --no-progress \
    > /dev/null 2> "$tmp/wrong.err"
rc=$?
check "wrong secret: exit 3 (got $rc)" [ "$rc" -eq 3 ]
check "wrong secret: one line, not-authorized" \
    eval '[ "$(wc -l < "$tmp/wrong.err")" -eq 1 ] && grep -q "not-authorized" "$tmp/wrong.err"'

# --- jumpers in a room ---------------------------------------------------------------
"${xb[@]}" jumper --jid 'jumper%d@bots.localhost/bot' --count 4 "${comp[@]}" \
    --muc conference.localhost --rooms 1 --phrases 2-3 --interval 0.3-0.6 \
    --retries 50 --stats "$tmp/jumper.json" --stats-interval 0.2 \
    > "$tmp/jumper.out" 2> "$tmp/jumper.err" &
jumper_pid=$!
slix_check "observer: component jumpers join, talk and leave" 45 slix_observer.py \
    "${slix_common[@]}" --jid observer@localhost \
    --room bot_room_0@conference.localhost --prefix jumper --seconds 30 \
    --expect-joins 4 --expect-messages 8 --expect-leaves 2

# --- the server killed and restarted ------------------------------------------------
joins_before=$(jstat "$tmp/jumper.json" joins)
server_kill
check "$server_name killed, its ports closed" wait_until 10 eval '! port_busy "$cport"'
check "jumpers notice (online 0)" wait_until 15 stat_is "$tmp/jumper.json" online 0
check "$server_name restarted" start_server
check "the stream comes back (reconnects 1)" \
    wait_until 40 stat_is_at_least "$tmp/jumper.json" reconnects 1
check "4 jumpers online again" wait_until 20 stat_is "$tmp/jumper.json" online 4
slix_check "observer: jumpers talk after the restart" 45 slix_observer.py \
    "${slix_common[@]}" --jid observer@localhost \
    --room bot_room_0@conference.localhost --prefix jumper --seconds 30 \
    --expect-messages 8
check "jumpers rejoined (joins $joins_before -> more)" \
    stat_is_at_least "$tmp/jumper.json" joins $((joins_before + 1))
kill "$jumper_pid"
wait "$jumper_pid"
rc=$?
jumper_pid=""
check "jumpers exit 0 on SIGTERM (got $rc)" [ "$rc" -eq 0 ]
check "jumper summary names the kind's counters" \
    grep -Eq '^jumper: .*rooms joined [1-9]' "$tmp/jumper.out"
finish
