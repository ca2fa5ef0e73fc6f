#!/usr/bin/env bash
# mod_bots' bots_muc_direct in a private Prosody (plain TCP on 127.0.0.1):
# one MUC room holds two jumpers of localhost (bots_muc_direct = true),
# two of other.localhost (the option off) and an independent slixmpp
# client. A room message (room:broadcast_message(), as MUC sends every
# groupchat) reaches each bot once and the client once; the direct bots
# get it without the router (no message/full event for them), the others
# and the client through it (one each); what a bot receives is the same
# stanza either way (its stanza filters see it), the room's history and
# the stanza's 'to' are as without the option. Jumpers read only their
# own presence of what rooms send (XB_KIND_OWN_ROOM_PRESENCE): the direct
# ones are not sent a newcomer's presence, nor is the occupant list built
# for them, but their own presence (a kick) reaches them; the others get
# all of it through presence/full. MUC's presence broadcast reads the
# room's own occupants; room:each_occupant() still gives copies to every
# other caller. After mod_bots unloads from
# localhost, the room routes everything again.
# Every figure comes from counters read inside Prosody (prosodyctl shell),
# as JSON. Skips (77) without prosody or slixmpp.
set -u
# shellcheck source=tests/prosodylib.sh
. "$(dirname "$0")/prosodylib.sh"

need 77 prosody prosodyctl timeout
need_slixmpp 77
mod_bots_plugins

pshell() { bash "$prosody_sh" shell "$dir" 30 "$@"; }
# lua LINES: runs them in the shell (as one line); prints its JSON line.
lua() { pshell ">$(tr '\n' ' ' <<< "$1")" | grep '^{' | head -n 1; }
# field JSON KEY: a value of the JSON object.
field() { "$py" -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

# Jumpers that join bot_room_0 and stay silent (their first phrase is
# 1,000 s away): the room's traffic is the test's.
silent='rooms = 1, phrases = { 1000, 1000 }, interval = { 1000, 1000 }'
start_prosody() {
    XB_PROSODY_MODULES=$plugins XB_PROSODY_HOST_EXTRA="modules_enabled = { \"bots\" }
    bots_muc_direct = true
    bots_jumper = { count = 2, $silent, seed = 3 }" \
        XB_PROSODY_TAIL="VirtualHost \"other.localhost\"
    modules_enabled = { \"bots\" }
    bots_jumper = { count = 2, prefix = \"routed_\", muc = \"conference.localhost\", $silent, seed = 4 }" \
        prosody_start plain
}
start_on_free_port 10000 1 start_prosody
ok "Prosody with mod_bots on localhost (direct) and other.localhost started on 127.0.0.1:$port"
bash "$prosody_sh" user "$dir" observer "$pw"

room_lua='local room = prosody.hosts["conference.localhost"].modules.muc.get_room_from_jid("bot_room_0@conference.localhost")'
# occupants: how many are in bot_room_0.
occupants() {
    lua "$room_lua
local n = 0; if room then for _ in room:each_occupant() do n = n + 1 end end
print(require \"util.json\".encode({ n = n }))" | "$py" -c 'import json, sys; print(json.load(sys.stdin)["n"])'
}
occupants_are() { [ "$(occupants)" = "$1" ]; }
check "4 jumpers in bot_room_0" wait_until 20 occupants_are 4

# Counters inside Prosody: message/full and presence/full events by
# recipient on both hosts, what a filter on one bot of each host sees.
setup=$(lua '
local filters = require "util.filters"
prosody.xb = { full = {}, pfull = {}, seen = {}, built = {} }
prosody.hosts["conference.localhost"].events.add_handler("muc-build-occupant-presence", function(e)
    local t = e.stanza.attr.to
    if t then prosody.xb.built[t] = (prosody.xb.built[t] or 0) + 1 end
end, 1000)
for _, h in ipairs({ "localhost", "other.localhost" }) do
    local ev = prosody.hosts[h].events
    ev.add_handler("message/full", function(e) local t = e.stanza.attr.to; prosody.xb.full[t] = (prosody.xb.full[t] or 0) + 1 end, 1000)
    ev.add_handler("presence/full", function(e) local t = e.stanza.attr.to; prosody.xb.pfull[t] = (prosody.xb.pfull[t] or 0) + 1 end, 1000)
end
for _, j in ipairs({ "jumper_0@localhost/bot", "routed_0@other.localhost/bot" }) do
    filters.add_filter(prosody.full_sessions[j], "stanzas/out", function(s)
        if s.name == "message" then prosody.xb.seen[j] = tostring(s) end
        return s
    end)
end
local function stanzas(h, j, counter)
    local n = 0
    for _, b in ipairs(require "core.modulemanager".get_module(h, "bots").get_bots(j)) do n = n + b.stats[counter or "stanzas"] end
    return n
end
prosody.xb.stanzas = function() return stanzas("localhost"), stanzas("other.localhost") end
prosody.xb.of = function(j, counter) return stanzas(j:match("@([^/]+)"), j, counter) end
local a, b = prosody.xb.stanzas()
print(require "util.json".encode({ direct = a, routed = b }))')
check "counters set up in Prosody ($setup)" [ -n "$setup" ]

# --- a join: presences -----------------------------------------------------------
"$py" "$src/tests/slix_observer.py" --jid observer@localhost --password "$pw" \
    --host 127.0.0.1 --port "$port" --room bot_room_0@conference.localhost \
    --prefix jumper_ --seconds 60 > "$tmp/observer.log" 2>&1 &
observer_pid=$!
stop_observer() { kill "$observer_pid" 2> /dev/null; wait "$observer_pid" 2> /dev/null; }
on_exit stop_observer
check "the slixmpp client joins bot_room_0" wait_until 20 occupants_are 5
joined=$(lua '
local p, n = prosody.xb.pfull, 0
for t, c in pairs(p) do if t:match("^observer@") then n = n + c end end
local a, b = prosody.xb.stanzas()
print(require "util.json".encode({
    direct_presence_full = (p["jumper_0@localhost/bot"] or 0) + (p["jumper_1@localhost/bot"] or 0),
    routed_presence_full = (p["routed_0@other.localhost/bot"] or 0) + (p["routed_1@other.localhost/bot"] or 0),
    client_presence_full = n, direct = a, routed = b }))')
echo "# after the join: $joined"
check "join: the direct jumpers were not sent the client's presence (no stanza more)" \
    [ "$(field "$joined" direct)" -eq "$(field "$setup" direct)" ]
check "join: ... without presence/full" [ "$(field "$joined" direct_presence_full)" = 0 ]
check "join: the other host's bots got it through presence/full (one each)" \
    [ "$(field "$joined" routed_presence_full)" = 2 ]
check "join: ... (2 stanzas more)" \
    [ "$(field "$joined" routed)" -eq $(($(field "$setup" routed) + 2)) ]
check "join: the client got the occupant list through presence/full (4 + its own)" \
    [ "$(field "$joined" client_presence_full)" = 5 ]

# --- the occupant list a newcomer gets ------------------------------------------
j0=jumper_0@localhost/bot j1=jumper_1@localhost/bot
r0=routed_0@other.localhost/bot r1=routed_1@other.localhost/bot
list=$(lua "$room_lua
local of, built = prosody.xb.of, prosody.xb.built
local d0, r0 = of(\"$j0\"), of(\"$r0\")
local bd0, br0 = built[\"$j0\"] or 0, built[\"$r0\"] or 0
room:send_occupant_list(\"$j0\")
room:send_occupant_list(\"$r0\")
print(require \"util.json\".encode({ direct = of(\"$j0\") - d0, routed = of(\"$r0\") - r0,
    direct_built = (built[\"$j0\"] or 0) - bd0, routed_built = (built[\"$r0\"] or 0) - br0 }))")
echo "# occupant list: $list"
check "occupant list: not built for a direct jumper" [ "$(field "$list" direct_built)" = 0 ]
check "occupant list: ... nor sent" [ "$(field "$list" direct)" = 0 ]
check "occupant list: built for the other host's jumper (5 occupants)" \
    [ "$(field "$list" routed_built)" = 5 ]
check "occupant list: ... and sent" [ "$(field "$list" routed)" = 5 ]

# --- MUC's presence broadcast reads the room's own occupants ----------------------
# publicise_occupant_status() hands each other occupant to route_to_occupant():
# the room's own objects with the option, not copies.
raw=$(lua "$room_lua
local st, own = require \"util.stanza\", getmetatable(room).__index.route_to_occupant
local raw, copies = 0, 0
room.route_to_occupant = function(self, occupant, stanza)
    if occupant == self._occupants[occupant.nick] then raw = raw + 1 else copies = copies + 1 end
    return own(self, occupant, stanza)
end
local resource = next(prosody.bare_sessions[\"observer@localhost\"].sessions)
local observer = room:get_occupant_by_real_jid(\"observer@localhost/\" .. resource)
room:publicise_occupant_status(observer, st.stanza(\"x\", { xmlns = \"http://jabber.org/protocol/muc#user\" }))
room.route_to_occupant = nil
print(require \"util.json\".encode({ raw = raw, copies = copies }))")
echo "# presence broadcast: $raw"
check "presence broadcast: the 4 other occupants handed over as the room's own" \
    [ "$(field "$raw" raw)" = 4 ]
check "presence broadcast: ... no copies" [ "$(field "$raw" copies)" = 0 ]

# --- a room message -----------------------------------------------------------
# broadcast ID: a groupchat message from bot_room_0/tester, handed out as
# MUC hands out every one; prints what the counters saw.
broadcast() {
    lua "$room_lua
local st = require \"util.stanza\"
room._data.history_length = 20
local function heard(h)
    local m = require \"core.modulemanager\".get_module(h, \"bots\")
    local n = 0
    if m and m.get_bots then for _, b in ipairs(m.get_bots()) do n = n + b.stats.groupchat_received end end
    return n
end
local function copies()
    local n, same = 0, 0
    for nick, occupant in room:each_occupant() do
        n = n + 1
        if occupant == room._occupants[nick] then same = same + 1 end
        occupant.role = \"changed\"
    end
    local changed = 0
    for _, occupant in pairs(room._occupants) do if occupant.role == \"changed\" then changed = changed + 1 end end
    return n > 0 and same == 0 and changed == 0
end
local d0, r0, h0 = heard(\"localhost\"), heard(\"other.localhost\"), #(room._history or {})
prosody.xb.full, prosody.xb.seen = {}, {}
local msg = st.message({ from = \"bot_room_0@conference.localhost/tester\", to = \"bot_room_0@conference.localhost\", type = \"groupchat\", id = \"$1\" }):text_tag(\"body\", \"room message $1\")
room:broadcast_message(msg)
local f, n = prosody.xb.full, 0
for t, c in pairs(f) do if t:match(\"^observer@\") then n = n + c end end
local seen = prosody.xb.seen
local d = seen[\"jumper_0@localhost/bot\"] or \"\"
local r = (seen[\"routed_0@other.localhost/bot\"] or \"\"):gsub(\"routed_0@other%.localhost\", \"jumper_0@localhost\")
print(require \"util.json\".encode({
    direct_heard = heard(\"localhost\") - d0, routed_heard = heard(\"other.localhost\") - r0,
    direct_message_full = (f[\"jumper_0@localhost/bot\"] or 0) + (f[\"jumper_1@localhost/bot\"] or 0),
    routed_message_full = (f[\"routed_0@other.localhost/bot\"] or 0) + (f[\"routed_1@other.localhost/bot\"] or 0),
    client_message_full = n, history = #(room._history or {}) - h0,
    to = msg.attr.to, filtered = d ~= \"\" and d:find(\"room message $1\", 1, true) ~= nil,
    same = d == r, route_stanza = rawget(room, \"route_stanza\") ~= nil,
    occupant_list = rawget(room, \"send_occupant_list\") ~= nil, copies = copies(),
    each_occupant = rawget(room, \"each_occupant\") ~= nil }))"
}
m1=$(broadcast xb1)
echo "# room message: $m1"
check "message: each direct bot heard it once" [ "$(field "$m1" direct_heard)" = 2 ]
check "message: ... without message/full" [ "$(field "$m1" direct_message_full)" = 0 ]
check "message: each of the other host's bots heard it once" [ "$(field "$m1" routed_heard)" = 2 ]
check "message: ... through message/full, once each" [ "$(field "$m1" routed_message_full)" = 2 ]
check "message: the client got it through message/full, once" \
    [ "$(field "$m1" client_message_full)" = 1 ]
check "message: the room's history has it" [ "$(field "$m1" history)" = 1 ]
check "message: its 'to' is the room's again afterwards" \
    [ "$(field "$m1" to)" = bot_room_0@conference.localhost ]
check "message: a direct bot's stanza filter saw it" [ "$(field "$m1" filtered)" = True ]
check "message: a direct bot got the stanza a routed bot got (but its 'to')" \
    [ "$(field "$m1" same)" = True ]
check "the room's route_stanza is mod_bots' while it runs" [ "$(field "$m1" route_stanza)" = True ]
check "... and so is its send_occupant_list" [ "$(field "$m1" occupant_list)" = True ]
check "... and so is its each_occupant" [ "$(field "$m1" each_occupant)" = True ]
check "room:each_occupant() (called from anywhere but MUC's presence broadcast) still gives copies" \
    [ "$(field "$m1" copies)" = True ]
check "the slixmpp client saw the room message" wait_until 10 grep -q "room message xb1" "$tmp/observer.log"

# --- a kick: the jumper's own presence ------------------------------------------
kick=$(lua "$room_lua
local of = prosody.xb.of
local k0, k1, r0, r1, l0 = of(\"$j0\"), of(\"$j1\"), of(\"$r0\"), of(\"$r1\"), of(\"$j0\", \"leaves\")
local ok = room:set_role(true, room:get_occupant_jid(\"$j0\"), \"none\", \"test\")
print(require \"util.json\".encode({ ok = ok == true, kicked = of(\"$j0\") - k0, other = of(\"$j1\") - k1,
    routed = of(\"$r0\") - r0 + of(\"$r1\") - r1, leaves = of(\"$j0\", \"leaves\") - l0 }))")
echo "# kick: $kick"
check "kick: the room took it" [ "$(field "$kick" ok)" = True ]
check "kick: the kicked direct jumper was sent its own presence (one stanza)" \
    [ "$(field "$kick" kicked)" = 1 ]
check "kick: ... and read it: it counts a leave" [ "$(field "$kick" leaves)" = 1 ]
check "kick: the other direct jumper was not sent it" [ "$(field "$kick" other)" = 0 ]
check "kick: the other host's jumpers got it (one each)" [ "$(field "$kick" routed)" = 2 ]

# --- unload: the room routes everything again ------------------------------------
check "module:unload on localhost" \
    grep -q "Module unloaded from 1 host" <<< "$(pshell 'module:unload("bots", "localhost")')"
check "after unload: 3 occupants (the other host's bots, the client)" wait_until 10 occupants_are 3
m2=$(broadcast xb2)
echo "# room message after unload: $m2"
check "after unload: the room's own route_stanza again" [ "$(field "$m2" route_stanza)" = False ]
check "after unload: ... and its own send_occupant_list" [ "$(field "$m2" occupant_list)" = False ]
check "after unload: ... and its own each_occupant" [ "$(field "$m2" each_occupant)" = False ]
check "after unload: room:each_occupant() gives copies" [ "$(field "$m2" copies)" = True ]
check "after unload: the other host's bots heard it" [ "$(field "$m2" routed_heard)" = 2 ]
check "after unload: ... through message/full" [ "$(field "$m2" routed_message_full)" = 2 ]
check "after unload: the client got it once" [ "$(field "$m2" client_message_full)" = 1 ]

no_errors() { ! grep -qiE 'error|traceback' "$dir/prosody.err"; }
check "no errors logged" no_errors
stop_observer
prosody_stop
finish
