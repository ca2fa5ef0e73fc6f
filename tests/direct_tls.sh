#!/usr/bin/env bash
# Direct TLS (XEP-0368) against a real Prosody on 127.0.0.1 that has
# STARTTLS on one port and direct TLS on the next: an echo bot with --tls
# direct comes online over TLS (its JSON stats: logins_direct_tls) and
# answers an independent slixmpp client (over STARTTLS) and load bots that
# use direct TLS too; --tls direct to the STARTTLS port, and an untrusted
# certificate, give exit status 5; SIGTERM stops the bot cleanly. Against
# a TLS probe (tests/tls_probe.py): the client offers ALPN xmpp-client,
# sends SNI for the JID's domain (not --host) and opens the stream right
# after the handshake. Without
# prosody, openssl or slixmpp it fails (hard error 99): ./dev deps.
# $XB_WRAP may hold a wrapper such as valgrind.
set -u
# shellcheck source=tests/prosodylib.sh
. "$(dirname "$0")/prosodylib.sh"
read -r -a wrap <<< "${XB_WRAP:-}"

need 99 prosody prosodyctl openssl timeout
need_slixmpp 99
need_built -x "$bin"

ca="$dir/certs/localhost.crt"
echo_pid=""

stop_echo() {
    [ -z "$echo_pid" ] || kill_bot "$echo_pid"
    show_tails 15 "$tmp"/*.err "$dir/prosody.err"
}
on_exit stop_echo

limit=100
[ ${#wrap[@]} -eq 0 ] || limit=400
xb=(timeout -k 5 "$limit" ${wrap[@]+"${wrap[@]}"} "$bin")
xb_short=(timeout -k 2 $((limit / 5)) ${wrap[@]+"${wrap[@]}"} "$bin")

start_prosody() {
    tls_port=$((port + 1))
    prosody_start tls
}
start_on_free_port 12000 2 start_prosody
ok "Prosody on 127.0.0.1: STARTTLS on $port, direct TLS on $tls_port"

users_ok() {
    bash "$prosody_sh" user "$dir" echobot "$pw" &&
        bash "$prosody_sh" user "$dir" tester "$pw" &&
        bash "$prosody_sh" users "$dir" user 2 "$pw" &&
        [ -f "$dir/data/localhost/accounts/user1.dat" ]
}
check "accounts registered" users_ok

direct=(--host 127.0.0.1 --port "$tls_port" --tls direct --cafile "$ca")

# --- an echo bot over direct TLS ------------------------------------------
"${xb[@]}" echo --jid echobot@localhost/bot --password "$pw" "${direct[@]}" \
    --stats "$tmp/echo.json" --stats-interval 0.5 --no-progress \
    > "$tmp/echo.out" 2> "$tmp/echo.err" &
echo_pid=$!
online_direct() {
    [ "$(jstat "$tmp/echo.json" online)" -eq 1 ] &&
        [ "$(jstat "$tmp/echo.json" logins_direct_tls)" -eq 1 ]
}
check "echo bot online over direct TLS (stats: online 1, logins_direct_tls 1)" \
    wait_until 15 online_direct
check "no STARTTLS or plain login, no fallback" \
    [ "$(jstat "$tmp/echo.json" logins_starttls)" -eq 0 ] &&
    [ "$(jstat "$tmp/echo.json" logins_plain)" -eq 0 ] &&
    [ "$(jstat "$tmp/echo.json" fallbacks)" -eq 0 ]

slix_check "slixmpp (STARTTLS) gets exact echoes from the direct TLS bot" 60 \
    slix_echo.py --host 127.0.0.1 --port "$port" --password "$pw" \
    --cafile "$ca" --jid tester@localhost --echo-jid echobot@localhost/bot \
    --quick

# Two load bots over direct TLS too; they stop when all 20 are back.
"${xb[@]}" load --jid 'user%d@localhost/load' --count 2 --password "$pw" \
    "${direct[@]}" --to echobot@localhost --messages 10 --window 2 \
    --stats "$tmp/load.json" --no-progress \
    > "$tmp/load.out" 2> "$tmp/load.err" < /dev/null
rc=$?
check "load over direct TLS: exit 0, every message back intact (got $rc)" \
    [ "$rc" -eq 0 ]
check "load: 20 answered, 2 logins over direct TLS" \
    [ "$(jstat "$tmp/load.json" answered)" -eq 20 ] &&
    [ "$(jstat "$tmp/load.json" logins_direct_tls)" -eq 2 ]
# The stats file is written every 0.5 s.
echoed_some() { [ "$(jstat "$tmp/echo.json" echoed)" -ge 21 ]; }
check "echo bot stats count the echoes (slixmpp's and the 20 of load)" \
    wait_until 5 echoed_some

# --- what the server sees (tests/tls_probe.py) ------------------------------
probe_tls() {
    local pid probe
    rm -f "$tmp/probe.port"
    timeout 30 "$py" "$src/tests/tls_probe.py" --cert "$ca" \
        --key "$dir/certs/localhost.key" --port-file "$tmp/probe.port" \
        > "$tmp/probe.log" 2>&1 &
    pid=$!
    wait_until 10 test -s "$tmp/probe.port" || return 1
    probe=$(cat "$tmp/probe.port")
    # Anything after the stream header is not the probe's business.
    "${xb_short[@]}" echo --jid probe@localhost --password "$pw" \
        --host 127.0.0.1 --port "$probe" --tls direct --cafile "$ca" \
        --retries 0 --login-timeout 2 > /dev/null 2>&1
    wait "$pid"
}
if probe_tls; then
    ok "a TLS probe saw one connection"
else
    bad "the TLS probe saw no connection:"
    sed 's/^/    /' "$tmp/probe.log"
fi
check "ALPN xmpp-client offered" grep -qx "alpn: xmpp-client" "$tmp/probe.log"
check "SNI is the JID's domain, not --host" grep -qx "sni: localhost" "$tmp/probe.log"
check "the stream opens right after the handshake" \
    grep -Eq "^first: <\?xml[^>]*><stream:stream [^>]*to='localhost'" "$tmp/probe.log"

# --- failures ---------------------------------------------------------------
# expect_exit NAME STATUS STDERR-REGEX ARGS...: a short run of the CLI.
expect_exit() {
    local name=$1 want=$2 pattern=$3 got
    shift 3
    "${xb_short[@]}" "$@" > "$tmp/fail.out" 2> "$tmp/fail.err"
    got=$?
    if [ "$got" -eq "$want" ] && grep -Eq -- "$pattern" "$tmp/fail.err"; then
        ok "$name: exit $got, $(grep -E -- "$pattern" "$tmp/fail.err" | head -n 1)"
    else
        bad "$name: exit status $got (want $want), stderr /$pattern/:"
        sed 's/^/    /' "$tmp/fail.err"
    fi
}
expect_exit "--tls direct to the STARTTLS port" 5 "TLS handshake failed" \
    echo --jid echobot@localhost/other --password "$pw" --host 127.0.0.1 \
    --port "$port" --tls direct --cafile "$ca" --retries 0
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
    -addext subjectAltName=DNS:localhost -keyout "$tmp/wrong.key" \
    -out "$tmp/wrong.crt" 2> /dev/null
expect_exit "--tls direct, untrusted certificate" 5 "certificate verification" \
    echo --jid echobot@localhost/other --password "$pw" --host 127.0.0.1 \
    --port "$tls_port" --tls direct --cafile "$tmp/wrong.crt"

# --- clean stop ---------------------------------------------------------------
kill -TERM "$echo_pid"
n=$((limit * 5 / 4))
while [ "$n" -gt 0 ] && kill -0 "$echo_pid" 2> /dev/null; do
    sleep 0.2
    n=$((n - 1))
done
wait "$echo_pid"
rc=$?
echo_pid=""
check "echo bot exits 0 on SIGTERM (got $rc)" [ "$rc" -eq 0 ]
check "its summary: one login over direct TLS" \
    grep -q "^transport: logins over direct TLS 1, STARTTLS 0" "$tmp/echo.out"

finish
