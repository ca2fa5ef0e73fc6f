#!/usr/bin/env bash
# The web presence gateway on the CLI: xmppbots webpresence as the external
# component presence.localhost (XEP-0114) of a private server on 127.0.0.1
# (Prosody or, with XB_SERVER=ejabberd, ejabberd), its pages served by
# H2O on 127.0.0.1, its registrations in an SQLite database in the test's
# directory. A slixmpp user
# (tests/wp_user.py) discovers the gateway, registers and changes presence;
# the page has the kind's headers, the JSON follows the presence, the SVG
# badge parses, HEAD has no body; an unknown token is 404, POST 405, a
# 100 kB path 404, an oversized request and a malformed one 400 from H2O,
# and the page still serves after them; headless Chromium renders it.
# After xmppbots is killed (SIGKILL) and started again on the same
# database the same address serves the page and the user's presence comes
# back; a database locked by another process makes a registration fail
# with internal-server-error and stores nothing; unregistering makes the
# page 404; SIGTERM ends the run with status 0. Two gateways in one
# process serve their pages each under its bare JID. Bad databases, a bad
# listening address and a port in use are each refused with one line.
# $XB_WRAP may hold a wrapper such as valgrind.
# shellcheck disable=SC2016 # check NAME eval '...': expanded when checked
set -u
# shellcheck source=tests/serverlib.sh
. "$(dirname "$0")/serverlib.sh"
# shellcheck source=tests/wplib.sh
. "$(dirname "$0")/wplib.sh"
read -r -a wrap <<< "${XB_WRAP:-}"

server_need 99
need 99 openssl timeout chromium
need_slixmpp 99
need_built -x "$bin"

# H2O 2.2 keeps up to 16 freed blocks of each of its allocators for reuse
# and has no call that frees them: still reachable at exit, by design.
if [ ${#wrap[@]} -gt 0 ] && [ "$(basename "${wrap[0]}")" = valgrind ]; then
    cat > "$tmp/h2o.supp" << 'EOF'
{
   h2o-recycled-blocks
   Memcheck:Leak
   match-leak-kinds: reachable
   fun:malloc
   fun:h2o_mem_alloc_recycle
}
EOF
    wrap=("${wrap[0]}" --suppressions="$tmp/h2o.supp" "${wrap[@]:1}")
fi

gw=presence.localhost
ca="$dir/certs/localhost.crt"
secret=wp-$$-secret
printf '%s\n' "$secret" > "$tmp/secret"
db="$tmp/wp.db"
gw_pid=""

stop_all() {
    local pid
    [ -z "$gw_pid" ] || kill "$gw_pid" 2> /dev/null
    [ -z "$gw_pid" ] || wait_until 5 eval '! kill -0 "$gw_pid" 2> /dev/null'
    for pid in $gw_pid $user_pids; do
        kill -0 "$pid" 2> /dev/null && kill_bot "$pid"
    done
    show_tails 20 "$tmp"/gw*.err "$tmp"/user*.out "$tmp"/user*.err \
        "${server_logs[@]}"
    return 0
}
on_exit stop_all

limit=150
[ ${#wrap[@]} -eq 0 ] || limit=400
xb=(timeout -k 5 "$limit" ${wrap[@]+"${wrap[@]}"} "$bin")

# expect_line STATUS PATTERN ARGS...: xmppbots ARGS exits STATUS and says
# one line (on stderr, nothing on stdout) matching PATTERN.
expect_line() {
    local want=$1 pattern=$2 got
    shift 2
    "${xb[@]}" "$@" > "$tmp/one.out" 2> "$tmp/one.err"
    got=$?
    if [ "$got" -eq "$want" ] && [ "$(wc -l < "$tmp/one.err")" -eq 1 ] &&
        [ ! -s "$tmp/one.out" ] && grep -q -- "$pattern" "$tmp/one.err"; then
        ok "exit $want, one line: $(cat "$tmp/one.err")"
    else
        bad "status $got (want $want), one line with '$pattern': $*"
        sed 's/^/    /' "$tmp/one.out" "$tmp/one.err"
    fi
}

# gateway_start NAME: xmppbots webpresence in the background (its output
# in $tmp/NAME.*, its stats in $tmp/NAME.json, its PID in gw_pid).
gateway_start() {
    "${xb[@]}" webpresence --component "$gw" --secret-file "$tmp/secret" \
        --host 127.0.0.1 --port "$cport" --http "127.0.0.1:$hport" --db "$db" \
        --no-progress -v --stats "$tmp/$1.json" --stats-interval 0.2 \
        > "$tmp/$1.out" 2> "$tmp/$1.err" &
    gw_pid=$!
}
stat_is() { [ "$(jstat "$1" "$2")" -eq "$3" ]; }

# fetch NAME URL [METHOD]: prints the HTTP status of METHOD (default GET)
# URL, or "error"; the headers go to $tmp/NAME.h ("name: value", names in
# lowercase), the body to $tmp/NAME.b.
fetch() {
    "$py" - "$tmp" "$@" << 'EOF'
import sys, urllib.error, urllib.request
tmp, name, url = sys.argv[1:4]
method = sys.argv[4] if len(sys.argv) > 4 else "GET"
data = b"x=1" if method in ("POST", "PUT") else None
try:
    r = urllib.request.urlopen(urllib.request.Request(url, data, method=method),
                               timeout=10)
except urllib.error.HTTPError as e:
    r = e
except (OSError, ValueError) as e:
    print("error", e)
    sys.exit(0)
body = r.read()
with open(f"{tmp}/{name}.h", "w") as f:
    for k, v in r.headers.items():
        f.write(f"{k.lower()}: {v}\n")
with open(f"{tmp}/{name}.b", "wb") as f:
    f.write(body)
print(r.status)
EOF
}
# header NAME FIELD: the value of header FIELD (lowercase) in $tmp/NAME.h.
header() { sed -n "s/^$2: //p" "$tmp/$1.h" | head -n 1; }
has_header() { [ "$(header "$1" "$2")" = "$3" ]; }

# json_is SHOW [STATUS]: the page's JSON (at $url.json) says SHOW (and the
# status text STATUS).
json_is() {
    [ "$(fetch json "$url.json")" = 200 ] || return 1
    "$py" -c 'import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
ok = d.get("show") == sys.argv[2] and (len(sys.argv) < 4 or d.get("status") == sys.argv[3])
sys.exit(0 if ok else 1)' "$tmp/json.b" "$@"
}

# raw REQUEST: sends REQUEST (a Python bytes expression) on a new
# connection to the gateway's HTTP port and prints the status of the
# answer, or "cut" if the connection ended without one.
raw() {
    "$py" - "$hport" "$1" << 'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
buf = b""
try:
    s.sendall(eval(sys.argv[2]))
except OSError:
    pass  # H2O may answer and close before it has read everything
try:
    while b"\r\n" not in buf:
        chunk = s.recv(4096)
        if not chunk:
            break
        buf += chunk
except OSError:
    pass
s.close()
line = buf.split(b"\r\n")[0].split()
print(line[1].decode() if len(line) > 1 else "cut")
EOF
}
matches() { [[ $1 =~ $2 ]]; }
# svg_ok FILE: FILE is an SVG document.
svg_ok() {
    "$py" -c 'import sys, xml.etree.ElementTree as ET
sys.exit(ET.parse(sys.argv[1]).getroot().tag != "{http://www.w3.org/2000/svg}svg")' "$1"
}

# rows USER: the database's rows of USER@localhost ("*": all of them),
# read while the gateway runs (WAL lets readers in).
rows() {
    "$py" -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1], timeout=10)
for r in c.execute("SELECT bot, key, value FROM kv"):
    if sys.argv[2] in ("*", r[1].split("@")[0]):
        print(" ".join(r))' "$db" "$1"
}

# --- the server, with the component, on free ports ----------------------------
# The client port, the component port next to it, and the HTTP port.
start_server() {
    XB_COMPONENT="$gw $((port + 1)) $secret" server_start tls
}
start_on_free_port 21000 3 start_server
cport=$((port + 1)) hport=$((port + 2))
ok "$server_name started: clients on $port, component $gw on $cport; pages on $hport"
users_ok() { server_user alice "$pw" && server_user bob "$pw"; }
check "accounts registered" users_ok
expect_line 1 "cannot listen on 127.0.0.1:$port: address already in use" \
    webpresence --component "$gw" --secret-file "$tmp/secret" --host 127.0.0.1 \
    --port "$cport" --http "127.0.0.1:$port" --no-progress

# --- bad databases and addresses: refused before any connection --------------
no_server=(webpresence --component "$gw" --secret x --host 127.0.0.1 --port 9
    --http "127.0.0.1:$hport" --no-progress)
printf 'This is not an SQLite database, but it is long enough to look at.\n%.0s' \
    1 2 3 4 5 6 7 8 9 10 > "$tmp/text.db"
expect_line 1 "file is not a database" "${no_server[@]}" --db "$tmp/text.db"
"$py" -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.executescript("CREATE TABLE kv (bot, key, value); PRAGMA application_id = 2019718259; PRAGMA user_version = 2;")
c = sqlite3.connect(sys.argv[2])
c.executescript("CREATE TABLE accounts (name TEXT);")' "$tmp/newer.db" "$tmp/other.db"
expect_line 1 "written by a newer xmppbots" "${no_server[@]}" --db "$tmp/newer.db"
expect_line 1 "belongs to another program" "${no_server[@]}" --db "$tmp/other.db"
if [ "$(id -u)" -ne 0 ]; then # root writes to read-only files
    cp "$tmp/newer.db" "$tmp/ro.db" && chmod 444 "$tmp/ro.db"
    expect_line 1 "is read-only" "${no_server[@]}" --db "$tmp/ro.db"
fi
expect_line 2 "needs ADDR:PORT" webpresence --component "$gw" --secret x \
    --http 'localhost:80'

gateway_start gw1
check "the gateway is online" wait_until 30 stat_is "$tmp/gw1.json" online 1
check "it says where its pages are" \
    wait_until 5 grep -q "web pages on 127.0.0.1:$hport, at http://127.0.0.1:$hport/\$" "$tmp/gw1.err"

# --- registration, and pages that follow presence ----------------------------------
status='Working from home <b>&amp; "café" 🏡</b>'
user_start user1 alice register:1:0 presence:online:"$status" wait:"$tmp/go-away" \
    presence:away:"Out for lunch" wait:"$tmp/go-end"
alice_pid=$user_pid
if wait_until 40 step_ok user1 register; then
    ok "wp_user: discovered the gateway and registered (show_status_msg=1)"
else
    bad "wp_user: register"
    show_user user1
fi
url=$(step user1 register url)
base=${url%/*}/
check "a fresh registration" [ "$(step user1 register fresh)" = True ]
check "its page at the root of --http: $url" \
    matches "$url" "^http://127\.0\.0\.1:$hport/[A-Za-z0-9_-]{24}\$"
check "the registration is in the database, under the gateway's JID" \
    matches "$(rows alice)" "^$gw alice@localhost [A-Za-z0-9_-]{24} 1 0\$"

check "JSON: online, with the status text" wait_until 15 json_is online "$status"
check "JSON: application/json, open to any origin, nosniff" \
    eval 'has_header json content-type application/json &&
        has_header json access-control-allow-origin "*" &&
        has_header json x-content-type-options nosniff'
check "HTML page: 200" [ "$(fetch page "$url")" = 200 ]
check "HTML page: text/html; charset=utf-8" has_header page content-type "text/html; charset=utf-8"
check "HTML page: the kind's Content-Security-Policy" \
    matches "$(header page content-security-policy)" "^default-src 'none'; "
check "HTML page: Referrer-Policy no-referrer" has_header page referrer-policy no-referrer
check "HTML page: X-Content-Type-Options nosniff" has_header page x-content-type-options nosniff
check "HTML page: Cache-Control no-cache" has_header page cache-control no-cache
check "HTML page: the length sent is the body's" \
    has_header page content-length "$(wc -c < "$tmp/page.b")"
check "SVG badge: 200, image/svg+xml, an SVG document" \
    eval '[ "$(fetch svg "$url.svg")" = 200 ] &&
        has_header svg content-type image/svg+xml && svg_ok "$tmp/svg.b"'
check "HEAD: 200, the page's type and length, no body" \
    eval '[ "$(fetch head "$url" HEAD)" = 200 ] && [ ! -s "$tmp/head.b" ] &&
        has_header head content-type "text/html; charset=utf-8" &&
        has_header head content-length "$(wc -c < "$tmp/page.b")"'
check "the query string is not part of the token" [ "$(fetch q "$url.json?x=1")" = 200 ]

# Headless Chromium, as a visitor's browser: the page open there shows
# online and the status text; once it does, the user goes away, and the
# open page (reloading itself) follows within seconds.
timeout 90 "$py" "$src/tests/browser_watch.py" --url "$url" \
    --expect "online:$status" --expect "away:Out for lunch" \
    --ready "$tmp/go-away" --timeout 60 > "$tmp/browser.json" 2>&1 &
browser_pid=$!
check "JSON: away, with the new status text" wait_until 70 json_is away "Out for lunch"
wait "$browser_pid"
browser_rc=$?
reached() { grep -q "\"reached\": \"$1\"" "$tmp/browser.json"; }
check "headless Chromium: the open page shows online and the status text" reached online
check "headless Chromium: the open page then shows away and the status text, by itself" \
    eval '[ "$browser_rc" = 0 ] && reached away'
[ "$browser_rc" = 0 ] || cat "$tmp/browser.json"

# --- what H2O and the gateway refuse -------------------------------------------------
check "an unknown token: 404" [ "$(fetch nf "${base}AAAAAAAAAAAAAAAAAAAAAAAA")" = 404 ]
check "an unknown token's JSON: 404, nosniff" \
    eval '[ "$(fetch nf "${base}AAAAAAAAAAAAAAAAAAAAAAAA.json")" = 404 ] &&
        has_header nf x-content-type-options nosniff'
check "the token with a NUL byte: 404" [ "$(fetch nf "$url%00")" = 404 ]
check "the token with dots and slashes: 404" [ "$(fetch nf "$url/..%2f..%2f")" = 404 ]
check "POST: 405, Allow: GET, HEAD" \
    eval '[ "$(fetch post "$url" POST)" = 405 ] && has_header post allow "GET, HEAD"'
check "PUT: 405" [ "$(fetch put "$url" PUT)" = 405 ]
check "a 100 kB path: 404 or 414" matches "$(raw \
    'b"GET /" + b"A" * 100000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"')" '^(404|414)$'
check "a 500 kB request: 400 from H2O, or cut" matches "$(raw \
    'b"GET /" + b"A" * 500000 + b" HTTP/1.1\r\n\r\n"')" '^(400|cut)$'
check "a malformed request line: 400 (H2O)" \
    [ "$(raw 'b"GARBAGE\x00 / HTTP/9\r\n\r\n"')" = 400 ]
check "a malformed header: 400 (H2O)" \
    [ "$(raw 'b"GET / HTTP/1.1\r\nNo colon here\r\n\r\n"')" = 400 ]
check "the page still serves after all that" [ "$(fetch page "$url")" = 200 ]
check "the gateway counted pages served and not found" \
    eval '[ "$(jstat "$tmp/gw1.json" pages_served)" -gt 0 ] &&
        [ "$(jstat "$tmp/gw1.json" pages_not_found)" -gt 0 ]'

# --- a restart keeps the registration ---------------------------------------------------
kill_bot "$gw_pid"
gw_pid=""
ok "xmppbots killed (SIGKILL)"
gateway_start gw2
check "restart: the gateway is online again" wait_until 30 stat_is "$tmp/gw2.json" online 1
check "restart: the same address serves the page" \
    wait_until 10 eval '[ "$(fetch page "$url")" = 200 ]'
check "restart: the user's presence comes back (probed): away" \
    wait_until 15 json_is away "Out for lunch"

# --- a database another process holds locked ---------------------------------------------
# It holds the write lock until bob's run is over (60 s at most).
"$py" -c 'import os, sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN IMMEDIATE")
open(sys.argv[2], "w").close()
for _ in range(600):
    if os.path.exists(sys.argv[3]):
        break
    time.sleep(0.1)
c.execute("ROLLBACK")' "$db" "$tmp/locked" "$tmp/unlock" &
lock_pid=$!
wait_until 10 test -e "$tmp/locked"
user_start user2 bob register:1:1
user_end 60
touch "$tmp/unlock"
wait "$lock_pid"
check "locked database: bob gets internal-server-error" \
    [ "$(step user2 register error)" = "IQ error internal-server-error" ]
check "locked database: one line says why" \
    grep -q "error: database $db: database is locked" "$tmp/gw2.err"
check "locked database: nothing stored, counted" \
    eval '[ -z "$(rows bob)" ] && [ "$(jstat "$tmp/gw2.json" store_failures)" -eq 1 ]'

# --- unregistering ------------------------------------------------------------------------
touch "$tmp/go-end"
if user_end 30 "$alice_pid"; then ok "wp_user (alice): every step passed"; else
    bad "wp_user (alice): run"
    show_user user1
fi
user_start user3 alice unregister
if user_end 40; then ok "wp_user: unregistered"; else bad "wp_user: unregister"; show_user user3; fi
check "unregistered: the page is 404" [ "$(fetch page "$url")" = 404 ]
check "unregistered: the JSON is 404" [ "$(fetch json "$url.json")" = 404 ]
check "unregistered: no row left in the database" [ -z "$(rows '*')" ]

kill "$gw_pid"
wait "$gw_pid"
rc=$?
gw_pid=""
check "SIGTERM: exit 0 (got $rc)" [ "$rc" -eq 0 ]
check "the summary names the kind's counters" \
    grep -Eq '^webpresence: .*users unregistered 1, .*storage failures 1' "$tmp/gw2.out"
check "the port is free again" eval '! port_busy "$hport"'

# --- several gateways in one process: each under its bare JID ------------------
"${xb[@]}" webpresence --component "$gw" --secret-file "$tmp/secret" \
    --host 127.0.0.1 --port "$cport" --http "127.0.0.1:$hport" \
    --jid "gw%d@$gw" --count 2 --no-progress --stats "$tmp/gw3.json" \
    --stats-interval 0.2 > "$tmp/gw3.out" 2> "$tmp/gw3.err" &
gw_pid=$!
check "two gateways online" wait_until 30 stat_is "$tmp/gw3.json" online 2
check "no --db: one line says registrations live in memory only" \
    grep -q "gw1@$gw: warn: gw1@$gw: registrations are kept in memory only" "$tmp/gw3.err"
to="gw1@$gw" user_start user4 alice register:0:1
if user_end 40; then ok "wp_user: registered with gw1@$gw"; else
    bad "wp_user: register with gw1@$gw"
    show_user user4
fi
url=$(step user4 register url)
check "its page under the gateway's bare JID: $url" \
    matches "$url" "^http://127\.0\.0\.1:$hport/gw1@$gw/[A-Za-z0-9_-]{24}\$"
check "the page serves" [ "$(fetch page "$url")" = 200 ]
check "not under the other gateway: 404" \
    [ "$(fetch nf "${url/gw1@/gw0@}")" = 404 ]
check "not at the root: 404" [ "$(fetch nf "http://127.0.0.1:$hport/${url##*/}")" = 404 ]
kill "$gw_pid"
wait "$gw_pid"
rc=$?
gw_pid=""
check "SIGTERM: exit 0 (got $rc)" [ "$rc" -eq 0 ]
finish
