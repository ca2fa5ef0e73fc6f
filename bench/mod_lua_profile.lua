-- bench/mod_lua_profile.lua: measuring tools inside a private Prosody, for
-- bench/profile_inserver.sh (bench only; load it globally). Two of them:
--
--  * the watch: every lua_profile_watch seconds (0: off) one log line saying
--    how late its own timer ran (how long the event loop was busy elsewhere),
--    Prosody's CPU seconds, the Lua heap and the in-server jumpers' counters
--    (mod_bots' totals, or mod_lua_jumper's stats);
--  * a sampling profiler of the Lua VM, driven from the admin shell:
--    prof:start(N) samples the Lua stack every N VM instructions on average
--    (a count hook on the main thread, and on each coroutine when it is
--    resumed; the count drawn anew after each sample, from N/2 to 3N/2, so
--    that a loop of routing does not fall in step with the samples),
--    prof:stop(), prof:report(FILE, DELIVERIES) writes the samples by module
--    and by function, as VM instructions per delivery. A count hook sees VM
--    instructions only: C functions (the bridge, string.format) and the
--    collector run between them unseen; callgrind counts those.

local getinfo, sethook, gethook = debug.getinfo, debug.sethook, debug.gethook;
local clock, now = os.clock, require "util.time".now;
local modulemanager = require "core.modulemanager";

-- --- the watch --------------------------------------------------------------

local watch = module:get_option_number("lua_profile_watch", 0);
local watch_host = module:get_option_string("lua_profile_host", "localhost");

-- The jumpers' counters: mod_bots' get_totals(), or mod_lua_jumper's stats.
local function counters()
	local bots = modulemanager.get_module(watch_host, "bots");
	if bots and bots.get_totals then
		local s = bots.get_totals();
		if s then
			return s.online, s.joins, s.groupchat_sent, s.groupchat_received, s.stanzas,
				s.join_errors;
		end
	end
	local lua = modulemanager.get_module(watch_host, "lua_jumper");
	local s = lua and lua.stats;
	if s then return s.online, s.joins, s.groupchat_sent, s.groupchat_received, nil, s.errors; end
end

if watch > 0 then
	local due = now() + watch;
	module:add_timer(watch, function()
		local t = now();
		local online, joins, sent, received, stanzas, errors = counters();
		module:log("info", "watch lag=%.3f cpu=%.2f heap_kb=%.0f online=%s joins=%s sent=%s received=%s stanzas=%s join_errors=%s",
			t - due, clock(), collectgarbage("count"), tostring(online), tostring(joins),
			tostring(sent), tostring(received), tostring(stanzas), tostring(errors));
		due = t + watch;
		return watch;
	end);
end

-- --- the profiler -----------------------------------------------------------

-- A source file's module, as the report groups them.
local groups = {
	{ "modules/muc/", "MUC" },
	{ "core/stanza_router", "router (core_post_stanza)" },
	{ "core/sessionmanager", "sessionmanager" },
	{ "util/events", "events (fire_event)" },
	{ "util/stanza", "util.stanza" },
	{ "util/filters", "stanza filters" },
	{ "util/jid", "util.jid" },
	{ "mod_bots.lua", "mod_bots (Lua)" },
	{ "mod_lua_jumper.lua", "mod_lua_jumper" },
	{ "mod_message.lua", "mod_message" },
	{ "mod_presence.lua", "mod_presence" },
	{ "net/server", "event loop (net.server)" },
	{ "util/timer", "timers" },
	{ "core/moduleapi", "moduleapi (timers, send, events)" },
	{ "util/async", "util.async" },
	{ "util/logger", "logging" },
	{ "core/loggingmanager", "logging" },
	{ "mod_lua_profile.lua", "profiler" },
};
local group_of = setmetatable({}, { __index = function(t, source)
	local g = "other Lua: " .. source:gsub("^@", ""):gsub("^.*/([^/]+/[^/]+)$", "%1");
	for _, pair in ipairs(groups) do
		if source:find(pair[1], 1, true) then g = pair[2]; break; end
	end
	t[source] = g;
	return g;
end });

local interval, samples, started, cpu_started = 0, 0, nil, nil;
local self_group, stack_group, self_fn, fn_name = {}, {}, {}, {};
local hooked = setmetatable({}, { __mode = "k" });
local seen = {};
local resume = coroutine.resume;

-- The group of the frame at level, counted from the caller of frame() (a
-- C function: by the name it was called by, "C function deliver"), or nil
-- past the top.
local function frame(level)
	local info = getinfo(level + 1, "S");
	if not info then return nil; end
	if info.what == "C" then
		local n = getinfo(level + 1, "n");
		return "C function " .. (n and n.name or "?"), info;
	end
	return group_of[info.source], info;
end

local random = math.random;
local function hook()
	sethook(hook, "", random(interval // 2, interval * 3 // 2));
	samples = samples + 1;
	-- Level 2 is the function running when the hook fired (1: this one).
	local g, info = frame(2);
	self_group[g] = (self_group[g] or 0) + 1;
	local key = info.short_src .. ":" .. info.linedefined;
	if not fn_name[key] then
		local n = getinfo(2, "n");
		fn_name[key] = (n and n.name or "?") .. " (" .. g .. ")";
	end
	self_fn[key] = (self_fn[key] or 0) + 1;
	-- Every group with a frame on the stack, once.
	local level = 2;
	while g do
		if not seen[g] then
			seen[g] = true;
			stack_group[g] = (stack_group[g] or 0) + 1;
		end
		level = level + 1;
		g = frame(level);
	end
	for k in pairs(seen) do seen[k] = nil; end
end

local function hook_thread(co)
	if gethook(co) ~= hook then
		sethook(co, hook, "", interval);
		hooked[co] = true;
	end
end

local function hooked_resume(co, ...)
	hook_thread(co);
	return resume(co, ...);
end

local prof = {};

-- prof:start(N): sample every N VM instructions from now on.
function prof:start(n) -- luacheck: ignore 212/self
	interval = math.tointeger(n) or 1000;
	samples, self_group, stack_group, self_fn, fn_name = 0, {}, {}, {}, {};
	started, cpu_started = now(), clock();
	-- The main thread (the event loop, timers); the shell runs this in a
	-- coroutine of its own, hooked too.
	hook_thread(debug.getregistry()[1]);
	hook_thread(coroutine.running());
	coroutine.resume = hooked_resume;
	return true, ("sampling every %d VM instructions"):format(interval);
end

-- prof:stop(): no more samples.
function prof:stop() -- luacheck: ignore 212/self
	coroutine.resume = resume;
	for co in pairs(hooked) do sethook(co); end
	hooked = setmetatable({}, { __mode = "k" });
	local wall, cpu = now() - started, clock() - cpu_started;
	started = nil;
	return true, ("%d samples in %.1f s (%.1f s CPU)"):format(samples, wall, cpu);
end

local function sorted(t)
	local keys = {};
	for k in pairs(t) do keys[#keys + 1] = k; end
	table.sort(keys, function(a, b) return t[a] > t[b]; end);
	return keys;
end

-- prof:report(file, deliveries, top): the samples as VM instructions per
-- delivery, by module (self and on the stack) and the top functions.
function prof:report(file, deliveries, top) -- luacheck: ignore 212/self
	local f = assert(io.open(file, "w"));
	local per = interval / (deliveries or 1);
	f:write(("samples %d interval %d deliveries %d vm_per_delivery %.0f\n"):format(
		samples, interval, deliveries or 0, samples * per));
	f:write("\n| Lua module | VM instructions per delivery, self | % | on the stack (inclusive) | % |\n|---|---:|---:|---:|---:|\n");
	for _, g in ipairs(sorted(stack_group)) do
		f:write(("| %s | %.0f | %.1f | %.0f | %.1f |\n"):format(g, (self_group[g] or 0) * per,
			100 * (self_group[g] or 0) / samples, stack_group[g] * per, 100 * stack_group[g] / samples));
	end
	f:write("\n| function (module) | where | VM instructions per delivery | % |\n|---|---|---:|---:|\n");
	for i, key in ipairs(sorted(self_fn)) do
		if i > (top or 40) then break; end
		f:write(("| %s | %s | %.0f | %.1f |\n"):format(fn_name[key], key, self_fn[key] * per,
			100 * self_fn[key] / samples));
	end
	f:close();
	return true, ("report in %s"):format(file);
end

-- prof:counters(): the jumpers' counters, one line of JSON.
function prof:counters()
	local online, joins, sent, received, stanzas, errors = counters();
	self.session.print(require "util.json".encode({ online = online, joins = joins,
		groupchat_sent = sent, groupchat_received = received, stanzas = stanzas, join_errors = errors,
		cpu = clock(), heap_kb = collectgarbage("count") }));
	return true;
end

module:shared("/*/admin_shell/env").prof = prof;
