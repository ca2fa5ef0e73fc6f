#!/usr/bin/env bash
# SRV end to end (RFC 6120 3.2, RFC 2782, XEP-0368), in a user, network
# and mount namespace that the test makes itself (unshare -rnm): its own
# loopback, a tiny DNS server (tests/dns_srv.py) on 127.0.0.1:53 named by a
# resolv.conf bind-mounted over /etc/resolv.conf, and Prosody with STARTTLS
# on 5222 and direct TLS on 5223. Bots without --host look up
# _xmpps-client and _xmpp-client._tcp.localhost and:
#  - skip a first target that refuses connections and log in at the next,
#    a direct TLS one (one attempt, one fallback, no failure counted);
#  - go on from a direct TLS target whose handshake fails to STARTTLS;
#  - with --tls starttls, ask for and use _xmpp-client records only;
#  - ignore a '.' direct TLS answer; refuse a domain whose STARTTLS answer
#    is '.' (exit 1, no fallback to the domain);
#  - without records, connect to the domain on 5222 (5223, --tls direct);
#  - after every target failed, look the server up again (on the thread
#    pool) and reach the new target while running.
# Skips (77) where such namespaces cannot be made. $XB_WRAP may hold a
# wrapper such as valgrind.
set -u
if [ -z "${XB_IN_NAMESPACE:-}" ]; then
    if ! command -v unshare > /dev/null || ! unshare -rnm true 2> /dev/null; then
        echo "SKIP: cannot make user, network and mount namespaces (unshare -rnm)"
        exit 77
    fi
    XB_IN_NAMESPACE=1 exec unshare -rnm bash "$0" "$@"
fi
# shellcheck source=tests/prosodylib.sh
. "$(dirname "$0")/prosodylib.sh"
read -r -a wrap <<< "${XB_WRAP:-}"

need 99 prosody prosodyctl openssl timeout
need 77 ip mount
need_slixmpp 99
need_built -x "$bin"

ip link set lo up || give_up 77 "cannot bring up the namespace's loopback"
printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:2\n' > "$tmp/resolv.conf"
mount --bind "$tmp/resolv.conf" /etc/resolv.conf ||
    give_up 77 "cannot bind-mount a resolv.conf"

ca="$dir/certs/localhost.crt"
dns_pid="" bot_pid=""
stop_all() {
    [ -z "$bot_pid" ] || kill_bot "$bot_pid"
    [ -z "$dns_pid" ] || kill "$dns_pid" 2> /dev/null
    show_tails 15 "$tmp"/*.err "$dir/prosody.err"
}
on_exit stop_all

limit=60
[ ${#wrap[@]} -eq 0 ] || limit=240
xb=(timeout -k 5 "$limit" ${wrap[@]+"${wrap[@]}"} "$bin")

# zone JSON: what the DNS server answers from now on.
zone() {
    printf '%s\n' "$1" > "$tmp/zone.tmp" && mv "$tmp/zone.tmp" "$tmp/zone.json"
}
hosts='"a": {"xmpp.test": "127.0.0.1", "dead.test": "127.0.0.1"}'
zone "{$hosts}"
"$py" "$src/tests/dns_srv.py" --port 53 --zone "$tmp/zone.json" \
    --log "$tmp/queries.log" --ready "$tmp/dns.ready" 2> "$tmp/dns.err" &
dns_pid=$!
check "DNS server on 127.0.0.1:53" wait_until 10 test -f "$tmp/dns.ready"

# The namespace is ours: the standard ports, and 5299 refuses connections.
port=5222 tls_port=5223
check "Prosody with STARTTLS on 5222, direct TLS on 5223" prosody_start tls
check "account registered" bash "$prosody_sh" user "$dir" echobot "$pw"

# run NAME ARGS...: an echo bot without --host, until it is online (or
# has given up), then SIGTERM; its exit status in $rc, its JSON stats in
# $tmp/NAME.json, the DNS queries it made in $tmp/NAME.queries.
settled() { [ "$(jstat "$1" online)" -eq 1 ] || ! kill -0 "$2" 2> /dev/null; }
run() {
    local name=$1 pid
    shift
    : > "$tmp/queries.log"
    "${xb[@]}" echo --jid echobot@localhost/bot --password "$pw" \
        --cafile "$ca" --retries 0 --no-progress -v --stats "$tmp/$name.json" \
        --stats-interval 0.2 "$@" > "$tmp/$name.out" 2> "$tmp/$name.err" &
    pid=$!
    wait_until $((limit / 3)) settled "$tmp/$name.json" "$pid"
    kill -TERM "$pid" 2> /dev/null
    wait "$pid"
    rc=$?
    cp "$tmp/queries.log" "$tmp/$name.queries"
}
# stats NAME KEY=VALUE...: each KEY of NAME's JSON stats has VALUE.
stats() {
    local name=$1 kv got
    shift
    for kv in "$@"; do
        got=$(jstat "$tmp/$name.json" "${kv%%=*}")
        if [ "$got" != "${kv#*=}" ]; then
            echo "$name: ${kv%%=*} is $got, want ${kv#*=}"
            sed 's/^/    /' "$tmp/$name.err"
            return 1
        fi
    done
}
asked() { grep -qx "$2 SRV" "$tmp/$1.queries"; }
not_asked() { ! asked "$@"; }

srv_both() { # XMPPS-RECORDS XMPP-RECORDS
    zone "{\"srv\": {\"_xmpps-client._tcp.localhost\": [$1],
                     \"_xmpp-client._tcp.localhost\": [$2]}, $hosts}"
}

# --- merged order, fallback to the next target ------------------------------
srv_both '[0, 0, 5299, "dead.test"], [10, 0, 5223, "xmpp.test"]' \
    '[20, 0, 5222, "xmpp.test"]'
run merged
check "merged: exit 0 (got $rc)" [ "$rc" -eq 0 ]
check "merged: both services asked" \
    asked merged _xmpps-client._tcp.localhost &&
    asked merged _xmpp-client._tcp.localhost
check "merged: refused at dead.test:5299, online over direct TLS at 5223" \
    stats merged logins_direct_tls=1 logins_starttls=0 fallbacks=1 \
    connect_attempts=1 errors.connect=0
check "merged: the fallback is logged" \
    grep -q "dead.test port 5299 (direct TLS) at 127.0.0.1: .*trying the next" \
    "$tmp/merged.err"

# --- a direct TLS target that does not speak TLS ----------------------------
srv_both '[0, 0, 5222, "xmpp.test"]' '[5, 0, 5222, "xmpp.test"]'
run handshake
check "handshake failure: exit 0 (got $rc)" [ "$rc" -eq 0 ]
check "handshake failure: then STARTTLS at the next target" \
    stats handshake logins_starttls=1 logins_direct_tls=0 fallbacks=1 \
    errors.tls=0

# --- --tls starttls: the STARTTLS service only --------------------------------
srv_both '[0, 0, 5223, "xmpp.test"]' '[20, 0, 5222, "xmpp.test"]'
run starttls --tls starttls
check "--tls starttls: STARTTLS, no fallback" \
    stats starttls logins_starttls=1 logins_direct_tls=0 fallbacks=0
check "--tls starttls: _xmpps-client not asked" \
    not_asked starttls _xmpps-client._tcp.localhost
run direct --tls direct
check "--tls direct: direct TLS at 5223" \
    stats direct logins_direct_tls=1 fallbacks=0
check "--tls direct: _xmpp-client not asked" \
    not_asked direct _xmpp-client._tcp.localhost

# --- '.' ------------------------------------------------------------------------
srv_both '[0, 0, 0, "."]' '[0, 0, 5222, "xmpp.test"]'
run dot_direct
check "'.' for direct TLS: STARTTLS records used" \
    stats dot_direct logins_starttls=1 fallbacks=0
zone "{\"srv\": {\"_xmpp-client._tcp.localhost\": [[0, 0, 0, \".\"]]}, $hosts}"
run dot_starttls
check "'.' for STARTTLS: exit 1 (got $rc), no service" [ "$rc" -eq 1 ]
# One line: nothing else (such as a leak report under valgrind, whose
# error status is 1 too).
check "'.' for STARTTLS: said on stderr, in one line" \
    grep -q "offers no XMPP client service" "$tmp/dot_starttls.err" &&
    [ "$(wc -l < "$tmp/dot_starttls.err")" -eq 1 ]

# --- no records: the domain itself ----------------------------------------------
zone "{$hosts}"
run none
check "no SRV records: localhost:5222 with STARTTLS" \
    stats none logins_starttls=1 fallbacks=0
check "no SRV records: the summary names localhost port 5222" \
    grep -q "to localhost port 5222 at" "$tmp/none.err"
run none_direct --tls direct
check "no SRV records, --tls direct: localhost:5223" \
    stats none_direct logins_direct_tls=1

# --- every target fails, then DNS changes: looked up again while running --------
zone "{\"srv\": {\"_xmpp-client._tcp.localhost\": [[0, 0, 5299, \"dead.test\"]]}, $hosts}"
"${xb[@]}" echo --jid echobot@localhost/bot --password "$pw" --cafile "$ca" \
    --retries 50 --no-progress -v --stats "$tmp/again.json" \
    --stats-interval 0.3 > "$tmp/again.out" 2> "$tmp/again.err" &
bot_pid=$!
failed_once() { [ "$(jstat "$tmp/again.json" errors.connect)" -ge 1 ]; }
check "all targets refused: a failed attempt counted" wait_until 20 failed_once
zone "{\"srv\": {\"_xmpp-client._tcp.localhost\": [[0, 0, 5222, \"xmpp.test\"]]}, $hosts}"
online() { [ "$(jstat "$tmp/again.json" online)" -eq 1 ]; }
check "after the DNS change: online at the new target" wait_until 45 online
check "the server was looked up again while the bot ran" \
    grep -q "looked up the server again: xmpp.test port 5222 (new targets)" \
    "$tmp/again.err"
# timeout(1) passes the SIGTERM on to the bot, then to its process group:
# a lookup thread must not take the second one.
kill -TERM "$bot_pid"
wait "$bot_pid"
rc=$?
bot_pid=""
check "SIGTERM: exit 0 (got $rc)" [ "$rc" -eq 0 ]

finish
