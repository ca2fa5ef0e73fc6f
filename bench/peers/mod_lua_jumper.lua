-- A 40-line pure-Lua jumper for comparison with mod_bots (bench only): lua_jumper_count
-- socket-less sessions (Prosody's sessionmanager) hop between bot_room_K of the MUC,
-- saying lua_jumper_phrases per visit, lua_jumper_interval s apart, as the jumper kind
-- does; what it costs is the in-server floor. Counters: the module's global `stats`.
local st, sm, sessionlib = require "util.stanza", require "core.sessionmanager", require "util.session";
local count, rooms = module:get_option_number("lua_jumper_count", 100), module:get_option_number("lua_jumper_rooms", 10);
local phrases, interval = module:get_option("lua_jumper_phrases", { 5, 9 }), module:get_option("lua_jumper_interval", { 5, 15 });
local ramp, muc = module:get_option_number("lua_jumper_ramp", count / 500), module:get_option_string("lua_jumper_muc", "conference." .. module.host);
local said, process = { "Hello everyone!", "Anyone here?", "Coffee time.", "Did you see the game last night?" }, prosody.core_process_stanza;
stats = { online = 0, joins = 0, groupchat_sent = 0, groupchat_received = 0, errors = 0 };
local function between(r) return r[1] + (r[2] - r[1]) * math.random(); end
local function jumper(i)
	local s, k, room, left = sessionlib.new("c2s"), math.random(0, rooms - 1), nil, 0;
	sessionlib.set_id(s); s.host = module.host;
	function s.log(level, msg, ...) return module:log(level, s.id .. ": " .. tostring(msg), ...); end
	function s.close(_, reason) sm.destroy_session(s, reason); end
	function s.send(t) -- the router delivers here; MUC reuses t for every occupant: only look
		if t.name == "message" and t.attr.type == "groupchat" and t.attr.from ~= room then stats.groupchat_received = stats.groupchat_received + 1;
		elseif t.name == "presence" and t.attr.from == room and not t.attr.type then stats.joins = stats.joins + 1;
		elseif t.attr and t.attr.type == "error" then stats.errors = stats.errors + 1; end
		return true;
	end
	sm.make_authenticated(s, "lua_jumper_" .. i); sm.bind_resource(s, "bot"); process(s, st.presence());
	local function join()
		room, left = ("bot_room_%d@%s/lua_jumper_%d"):format(k, muc, i), math.random(phrases[1], phrases[2]);
		process(s, st.presence({ to = room }):tag("x", { xmlns = "http://jabber.org/protocol/muc" }):tag("history", { maxchars = "0" }));
	end
	join(); stats.online = stats.online + 1;
	if stats.online == count then module:log("info", "%d bots online on %s", count, module.host); end
	module:add_timer(between(interval), function()
		if s.destroyed then return; end
		process(s, st.message({ to = room:match("^[^/]+"), type = "groupchat" }, said[math.random(#said)]));
		stats.groupchat_sent, left = stats.groupchat_sent + 1, left - 1;
		if left == 0 then -- leave for another room at once, as the jumper kind does
			process(s, st.presence({ to = room, type = "unavailable" }));
			if rooms > 1 then k = (k + math.random(1, rooms - 1)) % rooms; end
			join();
		end
		return between(interval);
	end);
end
local function start() for i = 0, count - 1 do module:add_timer(ramp * i / count, function() jumper(i); end); end end
if prosody.start_time then start(); else module:hook_global("server-started", start); end
