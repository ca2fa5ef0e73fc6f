-- Parser benchmark for Prosody's own stream parser, util.xmppstream, on the
-- stream bench_parser --generate writes: same 4096-byte chunks, same output
-- format. Usage: lua5.4 prosody_parser.lua FILE [ROUNDS]
--   [--gc incremental|generational] [--baseline EXPAT_MB_S]

local prosody_dir = os.getenv("PROSODY_LIB") or "/usr/lib/prosody";
package.path = prosody_dir .. "/?.lua;" .. package.path;
package.cpath = prosody_dir .. "/?.so;" .. package.cpath;

local xmppstream = require "util.xmppstream";
local monotonic = require "util.time".monotonic;
local gc = require "util.gc";

local CHUNK = 4096;
local MB = 1e6;
-- What mod_c2s gives an authenticated session (c2s_stanza_size_limit and
-- c2s_max_child_elements defaults in 0.12). The limit counts bytes fed but
-- not yet consumed, so 256 KiB is far above any stanza in the stream.
local STANZA_SIZE_LIMIT = 256 * 1024;
local MAX_CHILD_ELEMENTS = 25000;
-- Prosody 0.12's own GC defaults (util/startup.lua).
local GC_DEFAULTS = {
	mode = "incremental"; threshold = 105, speed = 500;
	minor_threshold = 20, major_threshold = 50;
};
-- Stanzas kept alive to measure the heap a parsed stanza holds.
local KEEP = 2000;

local function die(msg)
	io.stderr:write("prosody_parser: ", msg, "\n");
	os.exit(1);
end

local function usage()
	die("usage: lua5.4 prosody_parser.lua FILE [ROUNDS]"
		.. " [--gc incremental|generational] [--baseline EXPAT_MB_S]");
end

local path, rounds, gc_mode, baseline;
do
	local i = 1;
	while i <= #arg do
		local a = arg[i];
		if a == "--gc" then
			gc_mode = arg[i + 1] or usage();
			i = i + 1;
		elseif a == "--baseline" then
			baseline = tonumber(arg[i + 1] or usage()) or usage();
			i = i + 1;
		elseif a:sub(1, 1) == "-" then
			usage();
		elseif not path then
			path = a;
		elseif not rounds then
			rounds = math.tointeger(tonumber(a));
			if not rounds or rounds < 1 then usage(); end
		else
			usage();
		end
		i = i + 1;
	end
end
if not path then usage(); end
rounds = rounds or 5;
gc_mode = gc_mode or "incremental";

local ok, err = gc.configure({ mode = gc_mode }, GC_DEFAULTS);
if not ok then die(err); end

local f, ferr = io.open(path, "rb");
if not f then die(ferr); end
local data = f:read("a");
f:close();

-- Split once, outside the timing: the C side feeds slices of one buffer too.
local chunks = {};
for off = 1, #data, CHUNK do
	chunks[#chunks + 1] = data:sub(off, off + CHUNK - 1);
end

-- One pass over the stream. keep (optional) collects the first KEEP stanzas.
local function run(keep)
	local session = { notopen = true };
	local count, closed, stream_err = 0, 0, nil;
	local callbacks = { default_ns = "jabber:client" };
	function callbacks.streamopened(s)
		s.notopen = nil;
	end
	function callbacks.streamclosed()
		closed = closed + 1;
	end
	function callbacks.error(_, e, extra)
		stream_err = stream_err or (tostring(e) .. " " .. tostring(extra));
	end
	if keep then
		function callbacks.handlestanza(_, stanza)
			count = count + 1;
			if count <= KEEP then keep[count] = stanza; end
		end
	else
		function callbacks.handlestanza()
			count = count + 1;
		end
	end
	local stream = xmppstream.new(session, callbacks, STANZA_SIZE_LIMIT,
		{ max_elements = MAX_CHILD_ELEMENTS });
	stream:set_stanza_size_limit(STANZA_SIZE_LIMIT, MAX_CHILD_ELEMENTS);

	collectgarbage("collect");
	local feed = stream.feed;
	local t0 = monotonic();
	for i = 1, #chunks do
		local fok, ferr2 = feed(stream, chunks[i]);
		if not fok then
			die("util.xmppstream: " .. tostring(ferr2) .. " in chunk " .. i);
		end
	end
	local t = monotonic() - t0;
	if stream_err then die("util.xmppstream: " .. stream_err); end
	if closed ~= 1 then die("util.xmppstream: stream close not reported"); end
	return t, count;
end

local times, stanzas = {}, nil;
for i = 1, rounds do
	local t, n = run();
	if stanzas and n ~= stanzas then
		die(("rounds disagree: %d then %d stanzas"):format(stanzas, n));
	end
	stanzas = n;
	times[i] = t;
end
table.sort(times);
local best = times[1];
local median = rounds % 2 == 1 and times[(rounds + 1) // 2]
	or (times[rounds // 2] + times[rounds // 2 + 1]) / 2;
if stanzas == 0 then die(path .. ": no stanzas in the stream"); end

-- Heap a parsed stanza keeps alive: the Lua heap with the first KEEP stanzas
-- held, minus the heap with the (pre-sized) table alone. Short strings
-- ("message", "body", JIDs seen before) are interned and shared, so this is
-- the marginal cost of holding one more stanza.
local keep = {};
for i = 1, KEEP do keep[i] = false; end
collectgarbage("collect");
collectgarbage("collect");
local before = collectgarbage("count") * 1024;
run(keep);
collectgarbage("collect");
collectgarbage("collect");
local kept = math.min(KEEP, stanzas);
local heap = (collectgarbage("count") * 1024 - before) / kept;
keep = nil; -- luacheck: ignore 311

local key = gc_mode == "generational" and "prosody_gen" or "prosody_inc";
local name = "prosody xmppstream " .. (gc_mode == "generational" and "gen" or "inc");
local mbs = #data / MB / best;
local _, head_end = data:find("<stream:stream[^>]*>");
local wire = (#data - (head_end or 0) - #"</stream:stream>") / stanzas;
local ratio = baseline and mbs / baseline;

print(("# %s: %d bytes, %d stanzas (%.1f bytes each), %d-byte chunks,"
	.. " best of %d, %s gc, %s"):format(path, #data, stanzas, wire, CHUNK,
	rounds, gc_mode, _VERSION));
print(("%-22s %9s %12s %10s %9s"):format("# parser", "MB/s", "stanzas/s", "us/stanza", "vs expat"));
print(("%-22s %9.1f %12.0f %10.3f %9s"):format(name, mbs, stanzas / best,
	best * 1e6 / stanzas, ratio and ("%.2fx"):format(ratio) or "-"));
print(("# Lua heap held per parsed stanza: %.1f bytes (first %d stanzas kept)"):format(heap, kept));
print(("%s.stanzas=%d"):format(key, stanzas));
print(("%s.mb_s=%.2f"):format(key, mbs));
print(("%s.stanzas_s=%.0f"):format(key, stanzas / best));
if ratio then print(("%s.ratio=%.3f"):format(key, ratio)); end
print(("%s.mb_s_median=%.2f"):format(key, #data / MB / median));
print(("%s.heap_bytes_per_stanza=%.1f"):format(key, heap));
