-- mod_bots: the xmppbots bot kinds (echo, jumper, load, ...) as in-server
-- sessions.
--
-- Each bot is a socket-less c2s session (bound, present, routable like a
-- local user); the bot logic is the C core's, reached through the
-- xmppbots_bots module next to this file. Stanzas cross in C (Lua table <->
-- core tree), timers come from one heap in C driven by one module timer,
-- and a bot's answer to a client is routed at once, while everything else
-- a bot sends (its timers' work, answers to other bots) is queued and
-- routed from the top of the event loop, so bot-to-bot traffic never
-- recurses; that work goes in slices, one per turn of the event loop, so
-- that clients get theirs in between. See doc/mod_bots.md.
--
--   VirtualHost "localhost"
--     modules_enabled = { "bots" }
--     bots = {
--       { kind = "echo", "echobot" },
--       { kind = "jumper", count = 100, prefix = "jumper_", rooms = 10,
--         phrases = { 5, 9 }, interval = { 5, 15 }, seed = 1 },
--     }
--     -- or one group per kind: bots_echo = { "echobot" }, bots_jumper = { count = 100 }
--
-- A group's options are its kind's (the C module's tables check them);
-- count/prefix/first, seed and ramp are the module's.
--
-- A service kind (the web presence gateway) is no user account but a
-- domain: it runs on a component host of its own, where it is the one
-- bot, gets what is addressed to the domain through the host's events,
-- keeps its data in Prosody's storage and serves its pages over
-- Prosody's HTTP server:
--
--   Component "presence.example.org" "bots"
--     bots_webpresence = { refresh = 5 }

local st = require "util.stanza";
local jid_prep = require "util.jid".prep;
local jid_split = require "util.jid".prepped_split;
local nodeprep = require "util.encodings".stringprep.nodeprep;
local sessionlib = require "util.session";
local initialize_filters = require "util.filters".initialize;
local sm = require "core.sessionmanager";
local async = require "util.async";
local traceback = debug.traceback;
local type = type; -- a global costs two lookups per call in a module
local now = require "util.time".now;
local monotonic = require "util.time".monotonic;

local host = module.host;

-- --- the C module, found next to this file --------------------------------

local function load_c_module()
	local dir = module:get_directory();
	local entry = dir .. "/?.so";
	if not package.cpath:find(entry, 1, true) then
		package.cpath = entry .. ";" .. package.cpath;
	end
	local ok, lib = pcall(require, "xmppbots_bots");
	if not ok then
		module:log("error", "Cannot load xmppbots_bots.so (looked first in %s): %s", dir, lib);
		error("mod_bots: cannot load its C module xmppbots_bots.so");
	end
	return lib;
end
local bots = load_c_module();
local deliver = bots.deliver; -- bot:deliver(), without the method lookup

-- --- configuration ----------------------------------------------------------

-- Refuses the configuration: one clear line in the log, and an error so
-- that the module fails to load instead of half-working.
local function refuse(fmt, ...)
	local msg = fmt:format(...);
	module:log("error", "Invalid mod_bots configuration on %s: %s", host, msg);
	error("mod_bots: invalid configuration: " .. msg, 0);
end

-- Is node a valid localpart already in its prepared (lowercase) form?
local function is_prepped_node(node)
	return nodeprep(node) == node;
end

local function is_integer(v, lo, hi)
	return math.type(v) == "integer" and v >= lo and v <= hi;
end

local resource = module:get_option_string("bots_resource", "bot");
if not jid_prep("x@" .. host .. "/" .. resource) then
	refuse("bots_resource %q is not a valid resource", resource);
end
local start_batch = module:get_option_number("bots_start_batch", 1000);
if not is_integer(start_batch, 1, 1000000) then
	refuse("bots_start_batch must be an integer from 1 to 1000000");
end
local priority = module:get_option("bots_priority", 0);
if not is_integer(priority, -128, 127) then
	refuse("bots_priority must be an integer from -128 to 127");
end

-- The kinds the C module has, from its registry: names, options, counters,
-- which are services (a domain, not an account) or serve pages, and which
-- read only their own presence of what rooms send.
local kind_names, option_names, start_rates, is_service, has_pages = {}, {}, {}, {}, {};
local own_room_presence = {};
for i, k in ipairs(bots.kinds()) do
	kind_names[i] = k.name;
	start_rates[k.name] = k.start_rate;
	is_service[k.name], has_pages[k.name] = k.service, k.pages;
	own_room_presence[k.name] = k.own_room_presence;
	local names = {};
	for j, o in ipairs(k.options) do names[j] = o.name; end
	option_names[k.name] = table.concat(names, ", ");
end

-- Keys of a bot group that are the host's, not the kind's options.
local group_keys = { kind = true, count = true, prefix = true, first = true, seed = true, ramp = true };

-- Services live on component hosts, accounts on VirtualHosts: the rule,
-- for a group of kind in where, from the kind's flags.
local on_component = module:get_host_type() == "component";
local function check_host_type(where, kind)
	if is_service[kind] and not on_component then
		refuse("%s: %s bots are services at a domain of their own: configure them on a "
			.. "Component host (Component \"presence.%s\" \"bots\"), not on the VirtualHost %s",
			where, kind, host, host);
	elseif not is_service[kind] and on_component then
		refuse("%s: %s bots are user accounts: configure them on a VirtualHost, "
			.. "not on the component %s (only service kinds run there)", where, kind, host);
	end
end

-- Reads one group of bots: its array part names bots (localparts or JIDs
-- on this host), count/prefix/first number them, the rest are the kind's
-- options, checked against the kind's option table in C. `where` names
-- the group in messages ("bots_jumper", "bots[2]").
local function read_group(where, kind, g)
	if type(g) == "string" then g = { g }; end
	if type(g) ~= "table" then refuse("%s must be a table", where); end
	if g.kind ~= nil and g.kind ~= kind then refuse("%s.kind must be %s", where, kind); end
	check_host_type(where, kind);
	local options = {};
	for k, v in pairs(g) do
		if type(k) == "string" and not group_keys[k] then
			options[k] = v;
		elseif type(k) ~= "string" and math.type(k) ~= "integer" then
			refuse("%s has an unknown key %s", where, tostring(k));
		end
	end
	local config, key, what = bots.config(kind, options);
	if not config then
		if key and not what then
			refuse("%s has an unknown key %s (%s bots take: %s)", where, tostring(key), kind,
				option_names[kind] ~= "" and option_names[kind] or "no options");
		elseif key then
			refuse("%s.%s must be %s", where, tostring(key), what);
		else
			refuse("%s: %s", where, what);
		end
	end
	local jids, indexes = {}, {};
	if is_service[kind] then
		-- A service is the component's domain: one bot, no JIDs to give.
		if g[1] ~= nil or g.count ~= nil or g.prefix ~= nil or g.first ~= nil then
			refuse("%s: a %s bot is the component's domain %s: it takes no JIDs, count, prefix or first",
				where, kind, host);
		end
		jids[1], indexes[1] = host, 0;
	end
	for i, item in ipairs(g) do
		if type(item) ~= "string" then refuse("%s[%d] is not a string", where, i); end
		local full = item:find("@", 1, true) and item or (item .. "@" .. host);
		local node, domain, res = jid_split(full);
		if not node or domain ~= host then
			refuse("%s[%d] %q is not a localpart or a JID on %s", where, i, item, host);
		end
		jids[#jids + 1] = node .. "@" .. host .. "/" .. (res or resource);
		indexes[#indexes + 1] = 0;
	end
	local count = g.count or 0;
	if not is_integer(count, 0, 10000000) then
		refuse("%s.count must be an integer from 0 to 10000000", where);
	end
	local first = g.first or 0;
	if not is_integer(first, 0, 2^40) then refuse("%s.first must be a non-negative integer", where); end
	local prefix = g.prefix or (kind .. "_");
	if type(prefix) ~= "string" or not is_prepped_node(prefix .. first) then
		refuse("%s.prefix %q does not make valid (lowercase, prepared) localparts", where, tostring(prefix));
	end
	for k = first, first + count - 1 do
		jids[#jids + 1] = prefix .. k .. "@" .. host .. "/" .. resource;
		indexes[#indexes + 1] = k; -- numbered bots are seeded as the CLI seeds them
	end
	local seed = g.seed or 1;
	if math.type(seed) ~= "integer" then refuse("%s.seed must be an integer", where); end
	-- By default a group goes online at its kind's start rate (jumpers:
	-- 500 a second, else they move in lockstep), or all at once.
	local rate = start_rates[kind];
	local ramp = g.ramp or (rate > 0 and #jids / rate or 0);
	if type(ramp) ~= "number" or ramp < 0 or ramp > 86400 then
		refuse("%s.ramp must be a number of seconds from 0 to 86400", where);
	end
	return { kind = kind, config = config, jids = jids, indexes = indexes, seed = seed, ramp = ramp };
end

-- The groups: bots = { { kind = "jumper", count = 100, ... }, ... }, and
-- for each kind a shorthand bots_<kind> = { ... } (one group).
local groups = {};
do
	local list = module:get_option("bots");
	if list ~= nil and type(list) ~= "table" then refuse("bots must be a list of groups"); end
	for i, g in ipairs(list or {}) do
		local kind = type(g) == "table" and g.kind;
		local known = false;
		for _, name in ipairs(kind_names) do known = known or name == kind; end
		if not known then
			refuse("bots[%d].kind must be one of %s", i, table.concat(kind_names, ", "));
		end
		groups[#groups + 1] = read_group(("bots[%d]"):format(i), kind, g);
	end
	for _, kind in ipairs(kind_names) do
		local g = module:get_option("bots_" .. kind);
		if g ~= nil then groups[#groups + 1] = read_group("bots_" .. kind, kind, g); end
	end
end

local total = 0;
for _, g in ipairs(groups) do total = total + #g.jids; end
if total == 0 then
	module:log("warn", "No bots configured on %s (set bots, or bots_<kind> for a kind: %s)", host,
		table.concat(kind_names, ", "));
end

-- --- the bots -------------------------------------------------------------------

local pool;
local lua_errors = 0; -- stanzas from bots that raised while being processed
local list = {};     -- index -> bot userdata
local jids = {};     -- index -> full JID
local sessions = {}; -- index -> session (a closed one stays, destroyed)
local own_presence = {}; -- index -> true: its kind reads only its own room presence
local stopping = false;

-- Sends from the bots wait here (queue[head .. tail]: session, stanza,
-- session, stanza, ...) for the next tick, unless they answer a stanza
-- from outside (below).
local queue, head, tail = {}, 1, 0;
local flush_pending = false;

-- The bots' work is done in slices of at most this many seconds, one per
-- turn of the event loop, so that clients and other timers get their turn
-- between them. Without slices a busy moment feeds on itself: every timer
-- due by then fires in one tick, the rooms route everything the bots said
-- in one go, and by the time the server looks up again all the timers
-- re-armed in that tick are due at once: thousands of jumpers then talk in
-- lockstep, a server turn lasts tens of seconds, and clients time out.
local slice = 0.05;
-- Bot timers fired at a time before what they sent is routed.
local tick_batch = 8;

-- A service bot has no session: it speaks for the component's domain
-- through the host itself, as a component module does (module:send).
-- This table stands in for its session in the lists.
local host_session = prosody.hosts[host];
local service_session = on_component and {
	service = true, host = host, full_jid = host,
	log = function(level, message, ...) return module:log(level, message, ...); end,
} or nil;

-- What core_process_stanza does for a c2s session's stanza, minus its
-- checks of client input (the core built this stanza: names, JIDs and
-- UTF-8 are valid, 'to' is already normalized) and minus its per-stanza
-- debug line, which serializes the top tag whatever the log level (about
-- 10 us of the ~90 us an echo costs the server).
local core_post_stanza = prosody.core_post_stanza;
local function process(session, stanza)
	if session.service then
		-- From the domain, routed by the host: no c2s pre-events.
		stanza.attr.from = host;
		core_post_stanza(host_session, stanza);
		return;
	end
	local filter = session.filter;
	if filter then stanza = filter("stanzas/in", stanza); end
	if stanza then
		stanza.attr.from = session.full_jid;
		core_post_stanza(session, stanza, true);
		-- mod_presence keeps the session's presence with a <delay/> stamp
		-- added, for contacts who probe it later; on a bot, whose presence
		-- never changes, the stamp says nothing and costs 360 bytes.
		if session.presence == stanza then
			stanza:remove_children("delay", "urn:xmpp:delay");
		end
	end
end

-- routing > 0 while a bot's stanza is on its way: whatever a bot says
-- then is an answer to a bot, and waits in the queue.
local routing = 0;
local function route(session, stanza)
	routing = routing + 1;
	local ok, err = xpcall(process, traceback, session, stanza);
	routing = routing - 1;
	if not ok then
		lua_errors = lua_errors + 1;
		session.log("error", "Error processing a stanza from the bot: %s", err);
	end
end

local flush;
local function flush_later()
	if not flush_pending then
		flush_pending = true;
		module:add_timer(0, flush);
	end
end

-- Routes what was queued when it started, for one slice at most (the rest
-- in the next turn). Runs in one shared async runner: a handler that waits
-- (storage, say) holds the rest of the queue, as a c2s session's own
-- runner would.
local function drain()
	local last, stop = tail, monotonic() + slice;
	while head < last do
		local session, stanza = queue[head], queue[head + 1];
		queue[head], queue[head + 1] = nil, nil;
		head = head + 2;
		if not session.destroyed then route(session, stanza); end
		if monotonic() > stop then break; end
	end
	if head > tail then
		queue, head, tail = {}, 1, 0;
	else
		flush_later();
	end
end

local runner = async.runner(drain, {
	error = function(_, err) module:log("error", "Bot send queue: %s", err); end,
});

function flush()
	flush_pending = false;
	if head <= tail then runner:run(true); end
end

local function enqueue(session, stanza)
	if stopping or not session or session.destroyed then return; end
	queue[tail + 1], queue[tail + 2] = session, stanza;
	tail = tail + 2;
	flush_later();
end

-- True while a bot handles a stanza from outside (a client's, a room's):
-- its answer is then routed at once, inside that delivery, as a module's
-- hook would answer (no timer hop, one event-loop turn less). A stanza from
-- a session without a connection (a bot, here or in another module) never
-- counts as outside, so two bots cannot answer each other recursively.
local answer_now = false;
local full_sessions = prosody.full_sessions;
local function from_outside(stanza)
	if routing ~= 0 then return false; end
	local from = stanza.attr.from;
	local origin = from and full_sessions[from];
	return not (origin and not origin.conn);
end

-- The pool's callbacks get each bot's data: its index in the lists.
local function bot_send(i, stanza)
	local session = sessions[i];
	if answer_now and not stopping and session and not session.destroyed then
		route(session, stanza);
	else
		enqueue(session, stanza);
	end
end

local function bot_log(i, level, msg)
	local session = sessions[i];
	if session then
		session.log(level, "%s", msg);
	else
		module:log(level, "%s", msg);
	end
end

-- One module timer drives the heap of all bot timers in C: it fires when
-- the earliest is due, and a new one replaces it when a bot arms a sooner
-- one (the old one, when it fires, sees it is not current and stops). It
-- fires the due timers a few at a time and routes what they send right
-- away, for one slice: each bot then re-arms when it has its turn, not
-- all in the same instant. While the queue is behind, a turn fires one
-- batch of timers, whose sends wait behind the rest.
local driver_id, driving = 0, false;
local function fire_due()
	local stop = monotonic() + slice;
	repeat
		local more = pool:tick(tick_batch);
		if head <= tail then runner:run(true); end
	until more ~= 0 or head <= tail or monotonic() > stop;
end
local function drive(_, id)
	if stopping or id ~= driver_id then return; end
	answer_now = false; -- in case a delivery ended in an error
	driving = true;
	local ok, err = pcall(fire_due);
	driving = false;
	if not ok then module:log("error", "Bot timers: %s", err); end
	-- Asked again: what the bots were sent may have armed sooner timers.
	return pool:tick(0);
end
local function wake(delay)
	if driving then return; end -- drive() asks the pool before it returns
	driver_id = driver_id + 1;
	module:add_timer(delay, drive, driver_id);
end

-- --- storage and pages -------------------------------------------------------

-- One namespace per bot: the store "bots_<kind>" of this host, under the
-- bot's localpart (none for a service: the domain is the bot). Pairs are
-- written one at a time through the store's map interface and read back
-- all at once through its keyval interface, which Prosody's drivers keep
-- in the same place (internal: one file per namespace; sql: one row per
-- key). Whatever driver the admin chose for the store is used.
local stores = {};
local function store_of(i)
	for _, g in ipairs(groups) do
		if i >= g.from and i <= g.to then
			local s = stores[g.kind];
			if not s then
				local name = "bots_" .. g.kind;
				local map, err = module:open_store(name, "map");
				local keyval, err2 = module:open_store(name);
				s = { name = name, map = map, keyval = keyval, err = err or err2 };
				stores[g.kind] = s;
			end
			return s, (jid_split(jids[i]));
		end
	end
end

local function store_failed(i, s, what, err)
	module:log("error", "Cannot %s the data of bot %s in store %s: %s", what, jids[i], s.name,
		tostring(err));
	return nil, err;
end

-- store_load(i) -> { key = value } | nil, err
local function store_load(i)
	local s, user = store_of(i);
	if not s.keyval then return store_failed(i, s, "open", s.err); end
	local data, err = s.keyval:get(user);
	if data == nil and err ~= nil then return store_failed(i, s, "read", err); end
	return data or {};
end

-- store_put(i, key, value), store_del(i, key) -> true | nil, err
local function store_put(i, key, value)
	local s, user = store_of(i);
	if not s.map then return store_failed(i, s, "open", s.err); end
	local ok, err = s.map:set(user, key, value);
	if not ok then return store_failed(i, s, value and "write" or "delete", err); end
	return true;
end
local function store_del(i, key) return store_put(i, key, nil); end

-- A service kind with pages has them served by Prosody's HTTP server, at
-- module:http_url() (http_external_url, http_host and http_paths apply).
local http_url;
for _, g in ipairs(groups) do
	if on_component and has_pages[g.kind] and not http_url then
		module:depends("http");
		http_url = module:http_url();
		if http_url == "http://disabled.invalid/" then
			refuse("%s bots serve web pages, and Prosody serves no HTTP: set http_ports (or "
				.. "https_ports), or http_external_url for an address in front of it", g.kind);
		end
		if not http_url:find("/$") then http_url = http_url .. "/"; end
	end
end

pool = bots.pool { send = bot_send, log = bot_log, wake = wake, store_load = store_load,
	store_put = store_put, store_del = store_del, http_url = http_url };

-- --- rooms straight to the bots (bots_muc_direct) ----------------------------
-- MUC hands what a room says to each occupant through the router: for a
-- message, a copy of the occupant (two tables), then for every stanza
-- core_post_stanza (the recipient's JID split, an event table, the
-- message/full or presence/full handlers) and the session's send; in a
-- room of 100 bots that and its garbage are most of what a delivery costs
-- Prosody. With bots_muc_direct = true, what a room sends to the
-- in-server bots among its occupants (of any host whose mod_bots has the
-- option) goes straight to their sessions' send, which still applies
-- their stanza filters; everyone else's goes through the router as
-- before, in the same order. A room's message is handed out after every
-- other muc-broadcast-message handler (history, archive). The trade-off:
-- other modules' message/full, presence/full and pre-* handlers do not
-- see what rooms send to these bots. Bots of a kind that reads only its
-- own presence of what rooms send (XB_KIND_OWN_ROOM_PRESENCE: jumpers)
-- are not sent the other occupants' presences, nor the occupant list on
-- a join, which the room then does not build for them.
local muc_direct = module:get_option_boolean("bots_muc_direct", false);
local direct_sessions; -- session -> its bot: bots that take what rooms send directly
local own_presence_only; -- session -> true: those of them that read only their own presence
local undo_direct = function() end;
if muc_direct and not on_component and not bots.deliver_all then
	-- A mod_bots.lua newer than the C module Prosody has loaded (it keeps
	-- a loaded .so until it restarts).
	refuse("bots_muc_direct needs a newer xmppbots_bots.so than the one loaded (version %s): "
		.. "install this mod_bots.lua's and restart Prosody", bots.version);
end
if muc_direct and not on_component then
	direct_sessions = module:shared("/*/bots/direct_sessions");
	own_presence_only = module:shared("/*/bots/own_presence_only");
	-- A room's message: the bots among the recipients (but those with
	-- stanza filters, which get it through their send) are collected and
	-- get it in one call, converted once; a bot's answer to it may make
	-- another room speak, whose broadcast takes the next list.
	local deliver_all = bots.deliver_all;
	local lists, depth = {}, 0;
	local rooms = setmetatable({}, { __mode = "k" }); -- room -> MUC's methods, which ours wrap (below)
	local function broadcast_direct(event)
		local room, stanza = event.room, event.stanza;
		local occupants = room._occupants; -- what each_occupant() copies from
		if type(occupants) ~= "table" then return; end -- another MUC: its own broadcast
		local attr = stanza.attr;
		local to = attr.to;
		depth = depth + 1;
		local list = lists[depth];
		if not list then list = {}; lists[depth] = list; end
		local n = 0;
		for _, occupant in next, occupants do
			for jid in occupant:each_session() do
				local session = full_sessions[jid];
				local bot = session and direct_sessions[session];
				if bot and not session.filter then
					list[n + n + 1], list[n + n + 2] = bot, jid;
					n = n + 1;
				else
					attr.to = jid;
					if bot then
						session.send(stanza);
					else -- the room's own routing (ours would look the session up again)
						local own = rooms[room];
						if own then own.route_stanza(room, stanza); else room:route_stanza(stanza); end
					end
				end
			end
		end
		attr.to = to;
		if n > 0 then
			local outer = answer_now;
			answer_now = from_outside(stanza);
			local ok, err = deliver_all(stanza, list, n);
			answer_now = outer;
			if not ok then module:log("debug", "Bots refused a room's stanza: %s", err); end
			for k = 1, n + n do list[k] = nil; end
		end
		depth = depth - 1;
		return true;
	end
	-- An occupant's self-presence (XEP-0045 status code 110: what the
	-- core's xb_muc_is_self_presence() checks).
	local muc_user = "http://jabber.org/protocol/muc#user";
	local function is_self_presence(stanza)
		for _, x in ipairs(stanza.tags) do
			if x.name == "x" and x.attr.xmlns == muc_user then
				for _, status in ipairs(x.tags) do
					if status.name == "status" and (status.attr.xmlns or muc_user) == muc_user
					and status.attr.code == "110" then
						return true;
					end
				end
			end
		end
		return false;
	end
	-- The rest of what a room sends its occupants, one at a time (joins,
	-- leaves, the occupant list to a newcomer, the subject), goes through
	-- room:route_stanza(): each room a bot joins gets one that hands the
	-- stanza for a bot to its session, and routes the others as before.
	local function route_direct(room, stanza)
		local session = full_sessions[stanza.attr.to];
		if session and direct_sessions[session] then
			if own_presence_only[session] and stanza.name == "presence"
			and stanza.attr.type ~= "error" and not is_self_presence(stanza) then
				return; -- another occupant's: the bot would not read it
			end
			session.send(stanza);
		else
			rooms[room].route_stanza(room, stanza);
		end
	end
	-- room:send_occupant_list(): not built for the bots that would not
	-- read it (it never holds the newcomer's own presence).
	local function occupant_list_direct(room, to, filter)
		local session = full_sessions[to];
		if session and own_presence_only[session] and direct_sessions[session] then return; end
		return rooms[room].send_occupant_list(room, to, filter);
	end
	-- room:each_occupant() gives a copy of each occupant (two tables), so
	-- that a caller may change it; MUC's publicise_occupant_status(),
	-- which sends an occupant's presence to all the others at every join
	-- and leave, only reads them: for that loop alone (its caller is MUC's
	-- own function, found by debug.getinfo), the room's own occupants. In
	-- rooms of 100 jumpers the copies were most of the collector's work.
	local getinfo = debug.getinfo;
	local function each_occupant_direct(room, read_only)
		local caller = getinfo(2, "f");
		local own = rooms[room];
		if caller and caller.func == own.publicise_occupant_status then
			return next, room._occupants, nil;
		end
		return own.each_occupant(room, read_only);
	end
	local function on_join(event)
		local room = event.room;
		if rooms[room] then return; end
		local mt = getmetatable(room);
		local methods = type(mt) == "table" and type(mt.__index) == "table" and mt.__index;
		if methods and type(methods.route_stanza) == "function" and rawget(room, "route_stanza") == nil then
			rooms[room] = methods;
			room.route_stanza = route_direct;
			if type(methods.send_occupant_list) == "function" and rawget(room, "send_occupant_list") == nil then
				room.send_occupant_list = occupant_list_direct;
			end
			if type(methods.each_occupant) == "function" and type(methods.publicise_occupant_status) == "function"
			and type(rawget(room, "_occupants")) == "table" and rawget(room, "each_occupant") == nil then
				room.each_occupant = each_occupant_direct;
			end
		end
	end
	undo_direct = function() -- at unload
		for room in pairs(rooms) do
			if rawget(room, "route_stanza") == route_direct then room.route_stanza = nil; end
			if rawget(room, "send_occupant_list") == occupant_list_direct then
				room.send_occupant_list = nil;
			end
			if rawget(room, "each_occupant") == each_occupant_direct then room.each_occupant = nil; end
		end
	end
	-- Every MUC host there is now, and any activated later.
	local hooked = {};
	local function hook_muc(h)
		local hs = prosody.hosts[h];
		if hs and hs.modules.muc and not hooked[hs.events] then
			hooked[hs.events] = true;
			module:hook_object_event(hs.events, "muc-broadcast-message", broadcast_direct, -1000);
			module:hook_object_event(hs.events, "muc-occupant-pre-join", on_join, 1000);
		end
	end
	for h in pairs(prosody.hosts) do hook_muc(h); end
	module:hook_global("host-activated", hook_muc, -100); -- after its modules loaded
	module:hook_global("server-started", function()
		for h in pairs(prosody.hosts) do hook_muc(h); end
	end);
end

-- session:close(), from a kick (a client bound the same full JID), an
-- admin command, or host deactivation.
-- (sessions[i] keeps the retired session: enqueue() and the rest check
-- session.destroyed.)
local function close_session(bot, session, reason)
	if type(reason) == "table" then reason = reason.text or reason.condition; end
	session.log("info", "Bot session closed%s", reason and (": " .. tostring(reason)) or "");
	if direct_sessions then direct_sessions[session], own_presence_only[session] = nil, nil; end
	bot:offline();
	sm.destroy_session(session, reason);
end

-- Memory per session is the point of this module, so a session gets three
-- small closures sharing two upvalues, and no more fields than Prosody
-- needs: its hash part then stays at 16 slots. The logger is one closure
-- naming the session in front of the message, where util.logger would
-- make five closures with eleven upvalues (about 1 kB) per session.
local module_log = module._log;
local function start_bot(i)
	if on_component then -- the service: no session to make
		sessions[i] = service_session;
		return;
	end
	local bot, full = list[i], jids[i];
	local node, _, res = jid_split(full);
	local session = sessionlib.new("c2s");
	sessionlib.set_id(session);
	function session.log(level, message, ...)
		return module_log(level, session.id .. ": " .. tostring(message), ...);
	end
	-- Stanza filters as any session has them (modules that filter every
	-- session, mod_stanza_debug say, add theirs here); when none did, the
	-- session goes without (184 bytes): util.filters.add_filter() sets
	-- them up again on demand.
	initialize_filters(session);
	if next(session.filters) == nil then session.filters, session.filter = nil, nil; end
	session.host = host;
	function session.close(_, reason)
		return close_session(bot, session, reason);
	end
	function session.send(stanza)
		if type(stanza) == "table" and stanza.name then -- strings are for sockets
			local filter = session.filter;
			if filter then stanza = filter("stanzas/out", stanza); end
			if stanza then
				-- Saved: this may be a delivery inside another bot's (or
				-- this bot's) answer, which goes on afterwards.
				local outer = answer_now;
				answer_now = from_outside(stanza);
				local ok, err = deliver(bot, stanza);
				answer_now = outer;
				if not ok then
					session.log("debug", "Bot refused a stanza: %s", err);
				end
			end
		end
		return true;
	end
	local ok, err = sm.make_authenticated(session, node);
	local etype, cond;
	if ok then ok, etype, cond, err = sm.bind_resource(session, res); end
	if not ok then
		session.log("error", "Cannot bind bot %s: %s", full, err or cond or etype or "unknown error");
		sm.destroy_session(session, "bind failed");
		return;
	end
	sessions[i] = session;
	if direct_sessions then
		direct_sessions[session] = bot;
		own_presence_only[session] = own_presence[i];
	end
	-- Initial presence, through the normal path (queued like everything
	-- the bot sends), so that messages to the bare JID reach the bot. The
	-- default priority 0 needs no <priority/>: the stored presence is
	-- then 300 bytes smaller.
	local presence = st.presence();
	if priority ~= 0 then presence:text_tag("priority", tostring(priority)); end
	enqueue(session, presence);
end

local seen = {};
for _, g in ipairs(groups) do
	g.from, g.to = #list + 1, #list + #g.jids;
	for n, full in ipairs(g.jids) do
		if seen[full] then refuse("two bots would be %s", full); end
		seen[full] = true;
		local i = #list + 1;
		jids[i] = full; -- before the bot is made: it may load its stored data
		local bot, err = pool:new { config = g.config, jid = full, seed = g.seed,
			index = g.indexes[n], data = i };
		if not bot then refuse("%s", err); end
		list[i] = bot;
		own_presence[i] = own_room_presence[g.kind] or nil;
	end
	g.jids, g.indexes = nil, nil;
end
seen = nil;

-- What is addressed to a service's domain (or a resource of it) goes to
-- the bot, after any other module of the host that handles it, as
-- mod_component does for an external component. Stanzas to JIDs under
-- the domain are not the bot's: Prosody answers them.
if on_component and #list > 0 then
	local function to_service(event)
		local session, bot = sessions[1], list[1];
		if stopping or not session or session.destroyed then return; end -- Prosody answers
		local stanza, outer = event.stanza, answer_now;
		answer_now = from_outside(stanza);
		local ok, err = bot:deliver(stanza);
		answer_now = outer;
		if not ok then module:log("debug", "Bot refused a stanza: %s", err); end
		return true;
	end
	module:hook("iq/host", to_service, -1);
	module:hook("message/host", to_service, -1);
	module:hook("presence/host", to_service, -1);
end

-- The service's pages: GET and HEAD; other methods get 405 (Prosody's
-- router would say 404); CORS and the other headers are the kind's.
if http_url and #list > 0 then
	local function serve(event, path)
		if stopping then return 503; end
		local status, ctype, headers, body = list[1]:http(path or "");
		if not status then
			module:log("error", "Cannot serve %s: %s", event.request.path, ctype);
			return 500;
		end
		local response = event.response;
		for name, value in pairs(headers) do -- Prosody's spelling: cache_control
			response.headers[(name:lower():gsub("%-", "_"))] = value;
		end
		response.headers.content_type = ctype;
		response.status_code = status;
		return body;
	end
	local function not_allowed(event)
		local response = event.response;
		response.headers.allow = "GET, HEAD";
		response.headers.content_type = "text/plain; charset=utf-8";
		response.status_code = 405;
		return "Only GET and HEAD are allowed here.\n";
	end
	local route = { ["GET /*"] = serve, ["HEAD /*"] = serve };
	for _, method in ipairs { "POST", "PUT", "DELETE", "PATCH", "OPTIONS" } do
		route[method .. " /*"] = not_allowed;
	end
	module:provides("http", { route = route, cors = { enabled = false } });
	module:log("info", "Pages of %s at %s", jids[1], http_url);
end

-- --- metrics ------------------------------------------------------------------

local json = require "util.json";
local measure_bots = module:measure("bots", "amount");
local measure_online = module:measure("online", "amount");
-- One counter metric per counter name the kinds declare (a name means the
-- same in every kind that has it), and errors.
local counters = { errors = module:measure("errors", "counter") };
for _, k in ipairs(bots.kinds()) do
	for _, c in ipairs(k.counters) do
		counters[c.name] = counters[c.name] or module:measure(c.name, "counter");
	end
end
local reported = {};

-- Starts the bots in two phases, a batch per tick so that the server stays
-- responsive: first every session is bound and present, then each group
-- goes online (jumpers join rooms), spread evenly over its ramp, or more
-- slowly when the server cannot route what the last batch sent that fast.
local started_at;
local groups_left;
local function all_online()
	local per_kind, n = {}, {};
	for _, g in ipairs(groups) do n[g.kind] = (n[g.kind] or 0) + g.to - g.from + 1; end
	for _, kind in ipairs(kind_names) do
		if n[kind] then per_kind[#per_kind + 1] = n[kind] .. " " .. kind; end
	end
	module:log("info", "%d bots online on %s (%s) in %.2f s", pool:stats().online, host,
		table.concat(per_kind, ", "), now() - started_at);
end

local function online_from(g, first, step)
	if stopping then return; end
	if head <= tail then -- what the last batch sent is still queued: wait
		module:add_timer(math.max(step, slice), function() online_from(g, first, step); end);
		return;
	end
	local last = math.min(first + start_batch - 1, g.to);
	for i = first, last do
		local session = sessions[i];
		if session and not session.destroyed then list[i]:online(session.full_jid); end
	end
	if last < g.to then
		module:add_timer(step, function() online_from(g, last + 1, step); end);
		return;
	end
	groups_left = groups_left - 1;
	if groups_left == 0 then all_online(); end
end

local function start_from(first)
	if stopping then return; end
	local last = math.min(first + start_batch - 1, #list);
	for i = first, last do
		local ok, err = xpcall(start_bot, traceback, i);
		if not ok then
			lua_errors = lua_errors + 1;
			module:log("error", "Starting bot %s: %s", jids[i], err);
		end
	end
	if last < #list then
		module:add_timer(0, function() start_from(last + 1); end);
		return;
	end
	local bound = 0;
	for k = 1, #list do
		if sessions[k] then bound = bound + 1; end
	end
	module:log("info", "%d bot sessions bound on %s in %.2f s", bound, host, now() - started_at);
	groups_left = 0;
	for _, g in ipairs(groups) do
		if g.to >= g.from then groups_left = groups_left + 1; end
	end
	for _, g in ipairs(groups) do
		if g.to >= g.from then
			online_from(g, g.from, g.ramp * start_batch / (g.to - g.from + 1));
		end
	end
end

local function start()
	started_at = now();
	if #list > 0 then start_from(1); end
end

local function stop_all(reason)
	if stopping then return; end
	stopping = true;
	for i = 1, #list do
		local session = sessions[i];
		sessions[i] = nil;
		if direct_sessions and session then
			direct_sessions[session], own_presence_only[session] = nil, nil;
		end
		list[i]:offline();
		if session and session.service then
			session.destroyed = true;
		elseif session and not session.destroyed then
			sm.destroy_session(session, reason);
		end
		list[i]:close();
	end
	pool:close();
	queue, head, tail = {}, 1, 0;
	module:log("info", "%d bots stopped on %s: %s", #list, host, reason);
end

if prosody.start_time then
	start();
else
	module:hook_global("server-started", start);
end
module:hook_global("server-stopping", function() stop_all("server shutting down"); end);
function module.unload()
	stop_all(module.reloading and "mod_bots reloading" or "mod_bots unloaded");
	undo_direct();
end

module:hook_global("stats-update", function()
	if stopping then return; end
	local s = pool:stats();
	measure_bots(s.bots);
	measure_online(s.online);
	s.errors = s.errors + s.refused + lua_errors;
	for k, measure in pairs(counters) do
		local delta = (s[k] or 0) - (reported[k] or 0);
		if delta > 0 then measure(delta); end
		reported[k] = s[k];
	end
end);

-- --- the admin shell (prosodyctl shell) ---------------------------------
-- 0.12's shell has no API for module commands; like mod_invites, add a
-- section to its shared environment: bots:list([pattern]), bots:stats().

-- For the shell: this host's bots as { jid, stats } (stats: bot:stats()).
function get_bots(pattern, limit) -- luacheck: ignore 131
	local out, matched = {}, 0;
	for i = 1, #list do
		if not pattern or jids[i]:find(pattern, 1, true) then
			matched = matched + 1;
			if #out < (limit or math.huge) then
				local s = not stopping and list[i]:stats();
				if s then out[#out + 1] = { jid = jids[i], stats = s }; end
			end
		end
	end
	return out, matched;
end

-- For the shell: the pool's totals and counters by name.
function get_totals() -- luacheck: ignore 131
	if stopping then return nil; end
	local s = pool:stats();
	s.lua_errors = lua_errors;
	return s;
end

-- The counter names of each kind, in table order, for listings.
local kind_counters = {};
for _, k in ipairs(bots.kinds()) do
	local names = {};
	for i, c in ipairs(k.counters) do names[i] = c.name; end
	kind_counters[k.name] = names;
end

do
	local console_env = module:shared("/*/admin_shell/env");
	local modulemanager = require "core.modulemanager";
	local function each_instance()
		local hosts = {};
		for h in pairs(prosody.hosts) do
			local mod = modulemanager.get_module(h, "bots");
			if mod and mod.get_bots then hosts[#hosts + 1] = { host = h, mod = mod }; end
		end
		table.sort(hosts, function(a, b) return a.host < b.host; end);
		return hosts;
	end
	-- luacheck: ignore 212/self
	console_env.bots = {};
	-- One line per bot: JID, kind, state, where, then its counters.
	function console_env.bots:list(pattern, limit)
		local print = self.session.print;
		limit = limit or 100;
		local shown, total = 0, 0;
		print(("%-40s %-6s %-8s %-32s %s"):format("JID", "kind", "state", "where", "counters"));
		for _, inst in ipairs(each_instance()) do
			local rows, matched = inst.mod.get_bots(pattern, limit - shown);
			total = total + matched;
			for _, r in ipairs(rows) do
				local s, c = r.stats, {};
				for _, name in ipairs(kind_counters[s.kind]) do c[#c + 1] = name .. "=" .. s[name]; end
				print(("%-40s %-6s %-8s %-32s %s"):format(r.jid, s.kind, s.state, s.where or "-",
					table.concat(c, " ")));
				shown = shown + 1;
			end
		end
		return true, ("%d of %d bots shown"):format(shown, total);
	end
	-- One JSON object per host, for scripts: bots, online, timers armed,
	-- errors (refused stanzas, callback errors, processing errors) and
	-- every counter of the kinds, summed by name.
	function console_env.bots:stats()
		local print = self.session.print;
		local n = 0;
		for _, inst in ipairs(each_instance()) do
			local s = inst.mod.get_totals();
			if s then
				n = n + 1;
				s.host = inst.host;
				print(json.encode(s));
			end
		end
		return true, ("mod_bots loaded on %d host%s"):format(n, n == 1 and "" or "s");
	end
end
