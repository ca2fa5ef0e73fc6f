#!/usr/bin/env bash
# The web presence gateway inside Prosody: mod_bots on a component host
# (Component "presence.localhost" "bots" with bots_webpresence), loaded from
# the build tree, plain TCP and HTTP on 127.0.0.1. A slixmpp user
# (tests/wp_user.py) discovers the gateway, registers and changes presence;
# Prosody's HTTP server serves the page with the kind's headers, the JSON
# follows the presence, the SVG badge, HEAD; an unknown token is 404, POST
# and PUT 405; headless Chromium renders the page; the kind's counters are
# in bots:stats() and the openmetrics output; after a restart the same
# address serves again and the user's presence comes back; unregistering
# makes it 404. A store that refuses writes gives the user
# internal-server-error; an SQL store (LuaDBI's SQLite3 driver) keeps
# registrations across a restart too. A service kind on a
# VirtualHost, a user kind on the component, JIDs for a service, two
# services and a service without HTTP are each refused with one clear log
# line. Skips (77) without prosody, curl, lua5.4 or slixmpp.
# shellcheck disable=SC2016 # check NAME eval '...': expanded when checked
set -u
# shellcheck source=tests/prosodylib.sh
. "$(dirname "$0")/prosodylib.sh"
# shellcheck source=tests/wplib.sh
. "$(dirname "$0")/wplib.sh"

need 77 prosody prosodyctl timeout curl lua5.4
need 1 chromium
need_slixmpp 77
mod_bots_plugins

gw=presence.localhost

# The kind's counters, from the C module's tables (as mod_bots reads them).
counter_names=$(LUA_CPATH="$build/mod_bots/.libs/?.so;/usr/lib/prosody/?.so;;" \
    LUA_PATH="/usr/lib/prosody/?.lua;;" lua5.4 -e '
for _, k in ipairs(require "xmppbots_bots".kinds()) do
    if k.name == "webpresence" then
        local n = {}
        for i, c in ipairs(k.counters) do n[i] = c.name end
        print(table.concat(n, " "))
    end
end')

# Every user started in the background; stopped by PID on exit.
stop_users() {
    local pid
    for pid in $user_pids; do
        kill -0 "$pid" 2> /dev/null && kill_bot "$pid"
    done
    return 0
}
on_exit stop_users

pshell() { bash "$prosody_sh" shell "$dir" 30 "$@"; }

# start_prosody VHOST_LINES COMPONENT_LINES [HTTP_LINES]: Prosody with c2s
# on $port, HTTP on $port + 1 (unless HTTP_LINES says otherwise) and the
# component $gw running mod_bots with COMPONENT_LINES.
start_prosody() {
    http_port=$((port + 1))
    local http="http_ports = { $http_port }; http_interfaces = { \"127.0.0.1\" }"
    XB_PROSODY_MODULES=$plugins XB_PROSODY_HOST_EXTRA=$1 \
        XB_PROSODY_EXTRA="statistics = \"internal\"; statistics_interval = \"manual\"
${3-$http}" \
        XB_PROSODY_TAIL="Component \"$gw\" \"bots\"
    $2" prosody_start plain
}
restart_prosody() {
    prosody_stop
    rm -f "$dir/prosody.log" "$dir/prosody.err"
    start_prosody "$@"
}

# fetch NAME URL [CURL ARGS...]: prints the HTTP status of URL, asked of
# 127.0.0.1 whatever its host; the headers go to $tmp/NAME.h (no CRs), the
# body to $tmp/NAME.b.
fetch() {
    local name=$1 url=$2
    shift 2
    : > "$tmp/$name.raw"
    : > "$tmp/$name.b"
    curl -s --max-time 10 --resolve "$gw:$http_port:127.0.0.1" \
        -D "$tmp/$name.raw" -o "$tmp/$name.b" -w '%{http_code}' "$@" "$url"
    tr -d '\r' < "$tmp/$name.raw" > "$tmp/$name.h"
}
# header NAME FIELD: the value of header FIELD (any case) in $tmp/NAME.h.
header() {
    awk -v f="${2,,}" '{ n = index($0, ":") }
        n && tolower(substr($0, 1, n - 1)) == f { v = substr($0, n + 1); sub(/^ +/, "", v); print v; exit }' \
        "$tmp/$1.h"
}
has_header() { [ "$(header "$1" "$2")" = "$3" ]; }
matches() { [[ $1 =~ $2 ]]; }

# json_is SHOW [STATUS]: the page's JSON (at $url.json) says SHOW (and the
# status text STATUS).
json_is() {
    [ "$(fetch json "$url.json")" = 200 ] || return 1
    "$py" -c 'import json, sys
d = json.load(open(sys.argv[1]))
ok = d.get("show") == sys.argv[2] and (len(sys.argv) < 4 or d.get("status") == sys.argv[3])
sys.exit(0 if ok else 1)' "$tmp/json.b" "$@"
}


# bstats KEY...: those numbers of bots:stats() for $gw, space-separated.
bstats() {
    pshell 'bots:stats()' | "$py" -c 'import json, sys
for line in sys.stdin:
    if line.startswith("{"):
        s = json.loads(line)
        if s.get("host") == sys.argv[1]:
            print(" ".join(str(s.get(k)) for k in sys.argv[2:]))' "$gw" "$@"
}
positive() { # positive NUMBER...: every one > 0
    local v
    for v in "$@"; do [ "${v:-0}" -gt 0 ] 2> /dev/null || return 1; done
}

wp_config='bots_webpresence = { refresh = 5 }'
store_file() { ls "$dir"/data/presence*/bots_webpresence.dat 2> /dev/null; }

# --- Prosody with the gateway on free ports (c2s and HTTP) -----------------
start_on_free_port 14000 2 start_prosody "" "$wp_config"
ok "Prosody with mod_bots on $gw started on 127.0.0.1:$port (HTTP on $http_port)"
check "log: the gateway online" \
    wait_until 10 grep -q "1 bots online on $gw (1 webpresence)" "$dir/prosody.log"
check "log: its pages on Prosody's HTTP port" \
    grep -q "Pages of $gw at http://$gw:$http_port/bots/" "$dir/prosody.log"
check "the kind's counters are known" [ -n "$counter_names" ]
bash "$prosody_sh" user "$dir" alice "$pw"

# --- registration, and pages that follow presence -------------------------
user_start user1 alice register:1:0 wait:"$tmp/go-away" presence:away:"Out for lunch" \
    wait:"$tmp/go-end"
if wait_until 40 step_ok user1 register; then
    ok "wp_user: discovered the gateway and registered (show_status_msg=1)"
else
    bad "wp_user: register"
    show_user user1
fi
url=$(step user1 register url)
check "a fresh registration, its address on Prosody's HTTP port ($url)" \
    eval '[ "$(step user1 register fresh)" = True ] &&
        matches "$url" "^http://$gw:$http_port/bots/[A-Za-z0-9_-]{24}\$"'
check "the registration is in Prosody's storage" \
    eval '[ -n "$(store_file)" ] && grep -q "alice@localhost" "$(store_file)"'

check "HTML page: 200" [ "$(fetch page "$url")" = 200 ]
check "HTML page: text/html; charset=utf-8" has_header page content-type "text/html; charset=utf-8"
check "HTML page: Cache-Control no-cache" has_header page cache-control no-cache
check "HTML page: Referrer-Policy no-referrer" has_header page referrer-policy no-referrer
check "HTML page: X-Content-Type-Options nosniff" has_header page x-content-type-options nosniff
check "HTML page: the kind's Content-Security-Policy" \
    matches "$(header page content-security-policy)" "^default-src 'none'; "
check "HTML page: no CORS header (the kind's headers only)" \
    [ -z "$(header page access-control-allow-origin)" ]
check "HTML page: reloads every 5 s (refresh = 5)" grep -q 'content="5"' "$tmp/page.b"
check "JSON: online" wait_until 10 json_is online
check "JSON: application/json, open to any origin" \
    eval 'has_header json content-type application/json &&
        has_header json access-control-allow-origin "*"'

# The page open in headless Chromium shows online; once it does, the user
# goes away, and the open page (reloading itself) shows it within seconds.
timeout 90 "$py" "$src/tests/browser_watch.py" --url "$url" --resolve "$gw" \
    --expect online --expect "away:Out for lunch" --ready "$tmp/go-away" \
    --timeout 60 > "$tmp/browser.json" 2>&1 &
browser_pid=$!
check "JSON: away, with the status text" wait_until 70 json_is away "Out for lunch"
wait "$browser_pid"
browser_rc=$?
reached() { grep -q "\"reached\": \"$1\"" "$tmp/browser.json"; }
check "headless Chromium: the open page shows online" reached online
check "headless Chromium: the open page then shows away and the status text, by itself" \
    eval '[ "$browser_rc" = 0 ] && reached away'
[ "$browser_rc" = 0 ] || cat "$tmp/browser.json"
check "HTML page: data-show=\"away\" and the status text" \
    eval '[ "$(fetch page "$url")" = 200 ] && grep -q "data-show=\"away\"" "$tmp/page.b" &&
        grep -q "Out for lunch" "$tmp/page.b"'
check "SVG badge: 200, image/svg+xml" \
    eval '[ "$(fetch svg "$url.svg")" = 200 ] && has_header svg content-type image/svg+xml &&
        grep -q "<svg" "$tmp/svg.b"'
check "HEAD: 200, the page's type and length" \
    eval '[ "$(fetch head "$url" --head)" = 200 ] &&
        has_header head content-type "text/html; charset=utf-8" &&
        has_header head content-length "$(fetch page "$url" > /dev/null; wc -c < "$tmp/page.b")"'
base=${url%/*}/
check "an unknown token: 404" [ "$(fetch nf "${base}AAAAAAAAAAAAAAAAAAAAAAAA")" = 404 ]
check "an unknown token's JSON: 404" [ "$(fetch nf "${base}AAAAAAAAAAAAAAAAAAAAAAAA.json")" = 404 ]
check "the bare base address: 404" [ "$(fetch nf "$base")" = 404 ]
check "the token with a NUL byte: 404" [ "$(fetch nf "$url%00")" = 404 ]
check "the token with dots and slashes: 404" [ "$(fetch nf "$url/..%2f..%2f")" = 404 ]
long=$(head -c 6000 /dev/zero | tr '\0' A)
check "a 6000-byte token: 4xx" matches "$(fetch nf "$base$long")" "^4"
check "POST: 405, Allow: GET, HEAD" \
    eval '[ "$(fetch post "$url" -X POST -d x=1)" = 405 ] && has_header post allow "GET, HEAD"'
check "PUT: 405" [ "$(fetch put "$url" -X PUT -d x=1)" = 405 ]
check "the page still serves after all that" [ "$(fetch page "$url")" = 200 ]

# --- counters: the shell and openmetrics ------------------------------------
check "bots:stats(): registered 1, unregistered 0, no store failure, no error" \
    [ "$(bstats registered unregistered store_failures errors lua_errors refused)" = "1 0 0 0 0 0" ]
# shellcheck disable=SC2046 # one number a word
check "bots:stats(): presence updates, pages served, pages not found" \
    positive $(bstats presence_updates pages_served pages_not_found)
check "bots:stats(): the gateway online" [ "$(bstats bots online)" = "1 1" ]
list=$(pshell 'bots:list()')
check "bots:list(): the gateway at its domain, serving" \
    grep -Eq "^$gw +webpresence +serving" <<< "$list"
pshell 'module:load("http_openmetrics")' > /dev/null
metrics=$(curl -s --max-time 10 "http://127.0.0.1:$http_port/metrics")
om() { # om NAME: the sample of an openmetrics family for host $gw
    grep -E "^prosody_mod_bots_+$1(_total)?\{host=\"$gw\"\} " <<< "$metrics" | awk '{ print $2 }'
}
for m in $counter_names; do
    check "openmetrics: prosody_mod_bots_$m{host=\"$gw\"} is there" [ -n "$(om "$m")" ]
done
check "openmetrics: registered 1, online 1" eval '[ "$(om registered)" = 1 ] && [ "$(om online)" = 1 ]'
check "openmetrics: pages served" awk -v v="$(om pages_served)" 'BEGIN { exit !(v + 0 > 0) }'
[ "$fail" -eq 0 ] || grep "$gw" <<< "$metrics" | sed 's/^/    # /'

touch "$tmp/go-end"
if user_end 30; then ok "wp_user: every step passed"; else bad "wp_user: run"; show_user user1; fi
check "JSON: offline once the user has gone" wait_until 10 json_is offline
no_bot_errors() { ! grep -Ei 'bots|presence\.localhost' "$dir/prosody.err" | grep -qi error; }
check "no errors logged by mod_bots" no_bot_errors

# --- a restart keeps the registration ----------------------------------------
check "restart: Prosody starts again on the same data" restart_prosody "" "$wp_config"
check "restart: the same address serves the page" [ "$(fetch page "$url")" = 200 ]
check "restart: the page says offline (the user is not connected)" json_is offline
user_start user2 alice form wait:"$tmp/go-unregister" unregister
check "restart: the form says registered, with the same address" \
    eval 'wait_until 30 step_ok user2 form && [ "$(step user2 form registered)" = True ] &&
        [ "$(step user2 form url)" = "$url" ]'
check "restart: the user's presence reaches the gateway again" wait_until 10 json_is online
touch "$tmp/go-unregister"
if user_end 40; then ok "wp_user: unregistered"; else bad "wp_user: unregister"; show_user user2; fi
check "unregistered: the page is 404" [ "$(fetch page "$url")" = 404 ]
check "unregistered: the JSON is 404" [ "$(fetch json "$url.json")" = 404 ]
check "unregistered: gone from the store" [ -z "$(store_file)" ]
check "bots:stats() after the restart: unregistered 1, registered 0" \
    [ "$(bstats registered unregistered)" = "0 1" ]
check "no errors logged by mod_bots after the restart" no_bot_errors

# --- a store that refuses writes ------------------------------------------------
check "Prosody with storage none for the gateway" \
    restart_prosody "" "$wp_config
    storage = { bots_webpresence = \"none\" }"
user_start user3 alice register:1:0
user_end 40
check "failing store: the user gets internal-server-error" \
    [ "$(step user3 register error)" = "IQ error internal-server-error" ]
check "failing store: counted, nothing registered" \
    [ "$(bstats store_failures registered)" = "1 0" ]
check "failing store: one line says why" \
    grep -q "Cannot write the data of bot $gw in store bots_webpresence: Storage disabled" \
    "$dir/prosody.err"

# --- SQL storage ----------------------------------------------------------------
sql_config="$wp_config
    storage = \"sql\"
    sql = { driver = \"SQLite3\", database = \"gateway.sqlite\" }"
# sql_rows: the gateway's rows in the SQLite database.
sql_rows() {
    "$py" -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
print(c.execute("SELECT count(*) FROM prosody WHERE host = ? AND store = ?",
                (sys.argv[2], "bots_webpresence")).fetchone()[0])' "$dir/data/gateway.sqlite" "$gw"
}
if lua5.4 -e 'assert(require "DBI".Connect("SQLite3", ":memory:"))' > /dev/null 2>&1; then
    ok "LuaDBI with SQLite3 is installed"
    check "Prosody with SQL storage (SQLite3) for the gateway" restart_prosody "" "$sql_config"
    user_start user4 alice register:0:1
    if user_end 40; then ok "sql: registered"; else bad "sql: register"; show_user user4; fi
    url=$(step user4 register url)
    check "sql: one row in the database" [ "$(sql_rows)" = 1 ]
    check "sql: the page serves" [ "$(fetch page "$url")" = 200 ]
    check "sql: after a restart, the same address serves" \
        eval 'restart_prosody "" "$sql_config" && [ "$(fetch page "$url")" = 200 ]'
    user_start user5 alice unregister
    if user_end 40; then ok "sql: unregistered"; else bad "sql: unregister"; show_user user5; fi
    check "sql: no row left, the page is 404" \
        eval '[ "$(sql_rows)" = 0 ] && [ "$(fetch page "$url")" = 404 ]'
    check "no errors logged by mod_bots with SQL storage" no_bot_errors
else
    bad "LuaDBI with SQLite3 is not installed (lua-dbi-sqlite3; ./dev deps installs it)"
fi

# --- bad configuration ----------------------------------------------------------
# bad_start NAME HOST VHOST_LINES COMPONENT_LINES PATTERN [HTTP_LINES]: the
# module fails to load on HOST with one clear error line matching PATTERN.
bad_start() {
    local name=$1 host=$2 vhost=$3 comp=$4 pattern=$5 line
    shift 5
    if ! restart_prosody "$vhost" "$comp" "$@"; then
        bad "$name: Prosody did not start"
        sed 's/^/    /' "$tmp/prosody-start.err"
        tail -n 30 "$dir/prosody.log" "$dir/stdout.log" | sed 's/^/    /'
        return
    fi
    line=$(grep -E "Invalid mod_bots configuration on $host: $pattern" "$dir/prosody.err")
    if [ -z "$line" ] || [ "$(grep -c "Invalid mod_bots configuration" "$dir/prosody.err")" -ne 1 ]; then
        bad "$name: no single clear error line /$pattern/"
        return
    fi
    ok "$name: ${line#*	error	}"
    check "$name: the module failed to load on $host" \
        grep -q "Error initializing module 'bots' on '$host'" "$dir/prosody.err"
}
vhost_bots='modules_enabled = { "bots" }'
bad_start "a service kind on a VirtualHost" localhost "$vhost_bots
    bots_webpresence = { refresh = 5 }" "" \
    'bots_webpresence: webpresence bots are services at a domain of their own: configure them on a Component host'
bad_start "a service kind in a VirtualHost's groups" localhost "$vhost_bots
    bots = { { kind = \"webpresence\" } }" "" \
    'bots\[1\]: webpresence bots are services'
bad_start "echo on the component" "$gw" "" 'bots_echo = { "echobot" }' \
    "bots_echo: echo bots are user accounts: configure them on a VirtualHost, not on the component $gw"
bad_start "a service given JIDs" "$gw" "" 'bots_webpresence = { "gw" }' \
    "bots_webpresence: a webpresence bot is the component's domain $gw: it takes no JIDs"
bad_start "two services on one component" "$gw" "" \
    'bots = { { kind = "webpresence" }, { kind = "webpresence", refresh = 0 } }' \
    "two bots would be $gw"
bad_start "a service with pages and no HTTP" "$gw" "" "$wp_config" \
    'webpresence bots serve web pages, and Prosody serves no HTTP' 'http_ports = { }'
bad_start "a bad option" "$gw" "" 'bots_webpresence = { refresh = -1 }' \
    'bots_webpresence.refresh must be'

finish
