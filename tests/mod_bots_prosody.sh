#!/usr/bin/env bash
# mod_bots in a private Prosody (plain TCP on 127.0.0.1, a MUC component),
# loaded from the build tree: an independent slixmpp client gets byte-exact
# echoes from the in-server echo bot, a ping result and service-unavailable
# for an unknown IQ; a slixmpp observer sees in-server jumpers join, speak
# and leave; the metrics show in the shell and through mod_http_openmetrics;
# bots:list() works in prosodyctl shell; bot-to-bot answers wait a tick;
# a bot's stored presence has no <delay/>, and stanza filters (none by
# default) apply when a module adds them; module:reload and module:unload
# leave no bot session or room occupant behind and the bots come back; a
# bad configuration makes the module fail to load with one clear log line;
# shutdown stops the bots. Skips (77) without prosody or slixmpp.
set -u
# shellcheck source=tests/prosodylib.sh
. "$(dirname "$0")/prosodylib.sh"

need 77 prosody prosodyctl timeout curl
need_slixmpp 77
mod_bots_plugins

# pshell LINE...: runs lines in prosodyctl shell, output on stdout.
pshell() { bash "$prosody_sh" shell "$dir" 30 "$@"; }
# Bot sessions (resource "bot") and jumper occupants of the room.
count_lua='>local n, o = 0, 0; for j in pairs(prosody.full_sessions) do if j:match("/bot$") then n = n + 1 end end; local r = prosody.hosts["conference.localhost"].modules.muc.get_room_from_jid("bot_room_0@conference.localhost"); if r then for nick in r:each_occupant() do if nick:find("/jumper_", 1, true) then o = o + 1 end end end; print("sessions=" .. n .. " occupants=" .. o)'
counts() { pshell "$count_lua" | grep -o 'sessions=[0-9]* occupants=[0-9]*'; }
sessions_are() { counts | grep -q "sessions=$1 "; }
occupants_are() { counts | grep -q "occupants=$1$"; }
occupants_at_most() { counts | grep -Eq "occupants=[0-$1]$"; }
# bstats KEY...: those numbers of bots:stats() for localhost (its JSON
# line), space-separated; nothing if the shell had no such line.
bstats() {
    pshell 'bots:stats()' | "$py" -c 'import json, sys
for line in sys.stdin:
    if line.startswith("{"):
        s = json.loads(line)
        if s.get("host") == "localhost":
            print(" ".join(str(s.get(k)) for k in sys.argv[1:]))' "$@"
}
online_are() { [ "$(bstats bots online)" = "$1 $1" ]; }
online_are_of() { [ "$(bstats bots online)" = "$1 $2" ]; }
# Every counter name of every kind, from the kinds' tables (as the CLI
# lists them): the metrics must have them all.
counter_names=$("$build/cli/xmppbots" kinds | "$py" -c 'import json, sys
names = []
for k in json.load(sys.stdin)["kinds"]:
    names += [c["name"] for c in k["counters"] if c["name"] not in names]
print(" ".join(names))')

good_config='modules_enabled = { "bots" }
    bots_echo = { "echobot" }
    bots_jumper = { count = 4, rooms = 1, interval = { 0.2, 0.5 }, phrases = { 2, 3 }, seed = 7 }'

start_prosody() {
    http_port=$((port + 1))
    XB_PROSODY_MODULES=$plugins XB_PROSODY_HOST_EXTRA=$1 \
        XB_PROSODY_EXTRA="statistics = \"internal\"; statistics_interval = \"manual\"
http_ports = { $http_port }; http_interfaces = { \"127.0.0.1\" }" \
        prosody_start plain
}

# --- Prosody on free ports (c2s and http) -------------------------------------
start_on_free_port 10000 2 start_prosody "$good_config"
ok "Prosody with mod_bots started on 127.0.0.1:$port"

check "1 echo + 4 jumper bots online (bots:stats)" wait_until 10 online_are 5
check "5 bot sessions bound" sessions_are 5
check "log: bots online line" grep -q "5 bots online on localhost (1 echo, 4 jumper)" \
    "$dir/prosody.log"
bash "$prosody_sh" user "$dir" tester "$pw" && bash "$prosody_sh" user "$dir" observer "$pw"
check "test accounts registered" [ -f "$dir/data/localhost/accounts/observer.dat" ]

slix_common=(--host 127.0.0.1 --port "$port" --password "$pw")

# echo_check NAME ARGS...: slix_echo.py against the in-server echo bot;
# when it passes, its cases are shown indented too (all its output when it
# fails).
echo_check() {
    local name=$1
    shift
    slix_check "$name" 90 slix_echo.py --jid tester@localhost \
        --echo-jid echobot@localhost/bot "${slix_common[@]}" "$@" &&
        sed '$d' "$tmp/slix.log" | sed 's/^/    /'
}
# observe NAME ARGS...: slix_observer.py watches bot_room_0 for jumpers.
observe() {
    local name=$1
    shift
    slix_check "$name" 60 slix_observer.py --jid observer@localhost \
        --room bot_room_0@conference.localhost --prefix jumper_ "${slix_common[@]}" "$@"
}

# --- the echo bot ------------------------------------------------------------
echo_check "slixmpp echo cases"

# --- the jumpers, from the room ----------------------------------------------
observe "slixmpp observer" --seconds 20 --expect-joins 2 --expect-messages 3 --expect-leaves 1

# --- operability: metrics and the shell ------------------------------------
stats=$(pshell 'stats:show("mod_bots")')
metric() { # metric NAME: its value in the stats:show output
    awk -v m="prosody_mod_bots/$1" '{ sub(/^\| */, "") }
        $1 == m { getline; sub(/^\| */, ""); print $2; exit }' <<< "$stats"
}
check "stats: bots 5, online 5" eval '[ "$(metric bots)" = 5 ] && [ "$(metric online)" = 5 ]'
check "the kinds declare counters" [ -n "$counter_names" ]
for m in $counter_names errors; do
    check "stats: prosody_mod_bots/$m is reported" [ -n "$(metric "$m")" ]
done
pshell 'module:load("http_openmetrics")' > /dev/null
metrics=$(curl -s --max-time 10 "http://127.0.0.1:$http_port/metrics")
om() { # om NAME: the sample of an openmetrics family for host localhost
    grep -E "^prosody_mod_bots_+$1(_total)?\{host=\"localhost\"\} " <<< "$metrics" |
        awk '{ print $2 }'
}
check "openmetrics: online 5" [ "$(om online)" = 5 ]
check "openmetrics: echoed >= 10 (the echo cases)" \
    awk -v v="$(om echoed)" 'BEGIN { exit !(v + 0 >= 10) }'
check "openmetrics: joins and groupchat_sent > 0" \
    awk -v a="$(om joins)" -v b="$(om groupchat_sent)" 'BEGIN { exit !(a > 0 && b > 0) }'
check "openmetrics: errors 0" awk -v v="$(om errors)" 'BEGIN { exit !(v == 0) }'
for m in $counter_names; do
    check "openmetrics: prosody_mod_bots_$m is there" [ -n "$(om "$m")" ]
done
check "bots:stats() JSON: every counter, summed over the kinds" \
    eval '[ -z "$(bstats $counter_names | grep -o None)" ] && [ -n "$(bstats $counter_names)" ]'
[ "$fail" -eq 0 ] || grep mod_bots <<< "$metrics" | sed 's/^/    # /'

list=$(pshell 'bots:list()')
check "shell bots:list() shows the echo bot" \
    grep -Eq 'echobot@localhost/bot +echo +online' <<< "$list"
check "shell bots:list() shows 4 jumpers with a state and room" \
    [ "$(grep -Ec 'jumper_[0-9]@localhost/bot +jumper +(joining|in-room|waiting) +bot_room_0@conference' <<< "$list")" -eq 4 ]
check "shell bots:list() summary" grep -q "5 of 5 bots shown" <<< "$list"
check "shell bots:list(pattern)" grep -q "1 of 1 bots shown" <<< "$(pshell 'bots:list("jumper_2")')"

# --- bot-to-bot traffic waits for the next tick ------------------------------
# A message from an in-server jumper (a session without a connection) to
# the echo bot: the echo bot answers within the delivery (its echoed count
# moves), but the answer is queued, so the jumper has not received it when
# the delivery returns; it gets it a tick later.
b2b_lua='>local st = require "util.stanza"
local m = require "core.modulemanager".get_module("localhost", "bots")
local function stat(p, k) return m.get_bots(p)[1].stats[k] end
local j = prosody.full_sessions["jumper_1@localhost/bot"]
local e0, r0 = stat("echobot", "echoed"), stat("jumper_1", "stanzas")
prosody.core_post_stanza(j, st.message({ from = j.full_jid, to = "echobot@localhost/bot",
    type = "chat", id = "b2b" }):text_tag("body", "from a bot"), true)
print(("B2B %d %d %d"):format(stat("echobot", "echoed") - e0, stat("jumper_1", "stanzas") - r0, r0))'
b2b=$(pshell "$(tr '\n' ' ' <<< "$b2b_lua")" | grep -o 'B2B [0-9]* [0-9]* [0-9]*')
check "bot to bot: the echo bot answers a jumper ($b2b)" [ "$(cut -d' ' -f2 <<< "$b2b")" = 1 ]
check "bot to bot: the answer is queued, not delivered inside the delivery" \
    [ "$(cut -d' ' -f3 <<< "$b2b")" = 0 ]
jumper_got_it() {
    local n
    n=$(pshell '>print("RECV " .. require "core.modulemanager".get_module("localhost", "bots").get_bots("jumper_1")[1].stats.stanzas)' |
        grep -o 'RECV [0-9]*' | cut -d' ' -f2)
    [ "${n:-0}" -gt "$(cut -d' ' -f4 <<< "$b2b")" ]
}
check "bot to bot: the jumper receives the answer a tick later" wait_until 5 jumper_got_it

# --- what a bot session keeps ----------------------------------------------------
# Its presence (it is available), without the <delay/> mod_presence adds.
presence_lua='>local p = prosody.full_sessions["echobot@localhost/bot"].presence
print("PRESENCE " .. tostring(p and p.name) .. " " .. tostring(p and p:get_child("delay", "urn:xmpp:delay") ~= nil))'
check "the bot's stored presence has no <delay/>" \
    grep -q "PRESENCE presence false" <<< "$(pshell "$(tr '\n' ' ' <<< "$presence_lua")")"

# --- stanza filters ------------------------------------------------------------
# No module filters sessions here, so bot sessions carry no filter table;
# util.filters.add_filter() still works on them (it sets them up again).
# After a filter hook is registered, the bots of a reload get the hook's
# filters, both ways (stanzas to the bot, stanzas from it). The hook runs
# before the session has a JID: it picks the sessions without a connection.
filters_lua='>local s = prosody.full_sessions
print("FILTERS " .. tostring(s["echobot@localhost/bot"].filters ~= nil) .. " " .. tostring(s["jumper_1@localhost/bot"].filters ~= nil))
prosody.xb_filtered = { jumper = 0, out = 0, ["in"] = 0 }
require "util.filters".add_filter(s["jumper_1@localhost/bot"], "stanzas/out", function(st)
    prosody.xb_filtered.jumper = prosody.xb_filtered.jumper + 1; return st; end)
prosody.xb_hook = function(session)
    if not session.conn then
        for _, way in ipairs({ "out", "in" }) do
            require "util.filters".add_filter(session, "stanzas/" .. way, function(st)
                prosody.xb_filtered[way] = prosody.xb_filtered[way] + 1; return st; end)
        end
    end
end
require "util.filters".add_filter_hook(prosody.xb_hook)'
check "filters: bot sessions have none when no module filters" \
    grep -q "FILTERS false false" <<< "$(pshell "$(tr '\n' ' ' <<< "$filters_lua")")"
filtered() { # filtered WAY: stanzas counted by the test's filters that way
    pshell ">print(\"FILTERED \" .. prosody.xb_filtered[\"$1\"])" | grep -o 'FILTERED [0-9]*' |
        cut -d' ' -f2
}
jumper_filtered() { [ "$(filtered jumper)" -gt 0 ]; }
check "filters: add_filter() on a bot session sees what it receives" wait_until 10 jumper_filtered

# --- reload and unload -----------------------------------------------------
closed_before=$(grep -c "Bot session closed" "$dir/prosody.log")
check "module:reload through prosodyctl shell" \
    grep -q "Module reloaded on 1 host" <<< "$(pshell 'module:reload("bots", "localhost")')"
check "after reload: 5 bots online again" wait_until 10 online_are 5
check "after reload: 5 bot sessions, no leftovers" sessions_are 5
check "after reload: at most 4 jumpers in the room" occupants_at_most 4
check "after reload: no session was kicked by its successor" \
    [ "$(grep -c "Bot session closed" "$dir/prosody.log")" -eq "$closed_before" ]
echo_check "echo after reload" --quick
# The new bot sessions have the hook's filters: they see what reaches the
# bots (the client's messages, room traffic) and what they send.
check "filters: a filter hook filters what reaches a reloaded bot" [ "$(filtered out)" -gt 0 ]
check "filters: ... and what the bot sends" [ "$(filtered in)" -gt 0 ]
pshell '>require "util.filters".remove_filter_hook(prosody.xb_hook)' > /dev/null
observe "jumpers after reload" --seconds 15 --expect-joins 1 --expect-messages 2 \
    --expect-leaves 1

# An admin (or a client binding the same full JID) closes a bot session.
pshell 'c2s:close("echobot@localhost/bot")' > /dev/null
check "c2s:close on a bot: 4 bot sessions left" sessions_are 4
check "c2s:close on a bot: it is offline" online_are_of 5 4
check "log: the bot session was closed" grep -q "Bot session closed" "$dir/prosody.log"

check "module:unload through prosodyctl shell" \
    grep -q "Module unloaded from 1 host" <<< "$(pshell 'module:unload("bots", "localhost")')"
check "after unload: no bot session" sessions_are 0
check "after unload: no jumper in the room" occupants_are 0
check "log: bots stopped on unload" grep -q "5 bots stopped on localhost: mod_bots unloaded" \
    "$dir/prosody.log"
check "module:load brings them back" \
    grep -q "Module loaded onto 1 host" <<< "$(pshell 'module:load("bots", "localhost")')"
check "after load: 5 bots online" wait_until 10 online_are 5
no_bot_errors() { ! grep -E 'bots|c2s' "$dir/prosody.err" | grep -q error; }
check "no errors logged by mod_bots so far" no_bot_errors

# --- shutdown ------------------------------------------------------------------
prosody_stop
check "shutdown stops the bots" \
    grep -q "5 bots stopped on localhost: server shutting down" "$dir/prosody.log"

# --- the generic configuration: groups of any kind ----------------------------
prosody_stop
rm -f "$dir/prosody.log" "$dir/prosody.err"
# Every kind runs in-server: a load bot loads an in-server echo bot.
generic='modules_enabled = { "bots" }
    bots = { { kind = "echo", "echo2", "echo3@localhost/res" },
             { kind = "jumper", count = 2, prefix = "gj_", first = 5, rooms = 1, interval = "0.2-0.5" },
             { kind = "load", "loader", to = "echo2@localhost/bot", messages = 40, window = 4 } }'
check "Prosody with bots = { groups } started" start_prosody "$generic"
check "generic config: 5 bots online" wait_until 10 online_are 5
load_done() { [ "$(bstats answered lost corrupt)" = "40 0 0" ]; }
check "an in-server load bot gets its 40 messages back from an in-server echo bot" \
    wait_until 10 load_done
list=$(pshell 'bots:list()')
check "generic config: echo bots at their JIDs" \
    [ "$(grep -Ec '^echo(2@localhost/bot|3@localhost/res) +echo +online' <<< "$list")" -eq 2 ]
check "generic config: numbered jumpers from first" \
    [ "$(grep -Ec '^gj_[56]@localhost/bot +jumper ' <<< "$list")" -eq 2 ]
check "log: groups online by kind" grep -q "5 bots online on localhost (2 echo, 2 jumper, 1 load)" \
    "$dir/prosody.log"
echo_check "echo cases on a generic group's bot" --quick --echo-jid echo3@localhost/res

# --- bad configuration ------------------------------------------------------
# bad_start NAME HOST_LINES PATTERN: the module must fail to load with one
# clear error line matching PATTERN, and no bot may be online.
not_loaded() { ! pshell 'module:list("localhost")' | grep -q "mod_bots"; }
bad_start() {
    local name=$1 cfg=$2 pattern=$3 line
    prosody_stop
    rm -f "$dir/prosody.log" "$dir/prosody.err"
    if ! start_prosody "$cfg"; then
        bad "$name: Prosody did not start"
        return
    fi
    line=$(grep -E "Invalid mod_bots configuration on localhost: $pattern" "$dir/prosody.err")
    if [ -z "$line" ] || [ "$(wc -l <<< "$line")" -ne 1 ]; then
        bad "$name: no single clear error line /$pattern/"
        return
    fi
    ok "$name: ${line#*	error	}"
    check "$name: module failed to load" \
        grep -q "Error initializing module 'bots' on 'localhost'" "$dir/prosody.err"
    check "$name: module not loaded" not_loaded
    check "$name: no bot session" sessions_are 0
}
bad_start "bad count" 'modules_enabled = { "bots" }
    bots_jumper = { count = "many" }' "bots_jumper.count must be an integer"
bad_start "bad interval" 'modules_enabled = { "bots" }
    bots_echo = { "echobot" }
    bots_jumper = { count = 2, interval = { 5, 1 } }' "bots_jumper.interval must be"
bad_start "echo bot on another host" 'modules_enabled = { "bots" }
    bots_echo = { "echo@elsewhere.example" }' 'bots_echo\[1\] "echo@elsewhere.example" is not'
bad_start "typo in a key" 'modules_enabled = { "bots" }
    bots_jumper = { count = 2, room = 3 }' "bots_jumper has an unknown key room \(jumper bots take: muc, rooms,"
bad_start "unknown kind" 'modules_enabled = { "bots" }
    bots = { { kind = "dance" } }' 'bots\[1\]\.kind must be one of echo, jumper, load'
bad_start "bad option in a group" 'modules_enabled = { "bots" }
    bots = { { kind = "load", count = 1 } }' 'bots\[1\]: to is required'
bad_start "wrong type of option" 'modules_enabled = { "bots" }
    bots = { { kind = "jumper", count = 1, rooms = { 1, 2 } } }' 'bots\[1\]\.rooms must be a whole number from 1 to 100000000' 

finish
