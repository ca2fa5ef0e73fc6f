-- Unit test of mod_bots' C module (xmppbots_bots), run by lua5.4 with
-- Prosody's util modules on package.path: the Lua table <-> core stanza
-- bridge round-trips the core's parser corpus (read by Prosody's own
-- util.xmppstream) and hand-made tricky stanzas, refuses malformed tables
-- with nil + message, and the bots behave behind a scripted host (echo,
-- IQ answers, jumper state, timers, callback errors, closing, GC).
--   lua5.4 tests/mod_bots_bridge.lua CORPUS_DIR
-- package.cpath must reach xmppbots_bots.so (tests/mod_bots_bridge.sh
-- sets it up). Last line: "N passed, M failed"; exit status 1 on failure.

package.path = "/usr/lib/prosody/?.lua;" .. package.path
package.cpath = "/usr/lib/prosody/?.so;" .. package.cpath

local st = require "util.stanza"
local xmppstream = require "util.xmppstream"
local bots = require "xmppbots_bots"

local corpus_dir = arg[1] or "tests/corpus/parser"
local passed, failed = 0, 0

local function check(name, cond, detail)
	if cond then
		passed = passed + 1
		print("ok - " .. name)
	else
		failed = failed + 1
		print("FAIL - " .. name .. (detail and (": " .. tostring(detail)) or ""))
	end
end

-- --- comparing stanza tables ------------------------------------------------

-- Exact structural equality: same name, the same attr keys and values
-- (xmlns included), the same children in order.
local function exact(a, b, path)
	path = path or a.name
	if type(a) ~= type(b) then return false, path .. ": type differs" end
	if a.name ~= b.name then return false, path .. ": name " .. tostring(b.name) end
	for k, v in pairs(a.attr) do
		if b.attr[k] ~= v then
			return false, path .. ": attr " .. k:gsub("\1", "|") .. " = " .. tostring(b.attr[k])
		end
	end
	for k in pairs(b.attr) do
		if a.attr[k] == nil then return false, path .. ": extra attr " .. k:gsub("\1", "|") end
	end
	if #a ~= #b then return false, path .. ": " .. #b .. " children, want " .. #a end
	for i = 1, #a do
		local x, y = a[i], b[i]
		if type(x) ~= type(y) then return false, path .. ": child " .. i .. " kind" end
		if type(x) == "string" then
			if x ~= y then return false, path .. ": text " .. i .. " differs" end
		else
			local ok, why = exact(x, y, path .. "/" .. x.name)
			if not ok then return ok, why end
		end
	end
	return true
end

-- The shape util.stanza relies on: metatable, tags listing exactly the
-- element children in order, attr tables everywhere.
local function well_formed(t, path)
	path = path or t.name
	if getmetatable(t) ~= st.stanza_mt then return false, path .. ": no stanza_mt" end
	if type(t.attr) ~= "table" or type(t.tags) ~= "table" then
		return false, path .. ": attr or tags missing"
	end
	local j = 0
	for i = 1, #t do
		local c = t[i]
		if type(c) == "table" then
			j = j + 1
			if t.tags[j] ~= c then return false, path .. ": tags[" .. j .. "] is not child " .. i end
			local ok, why = well_formed(c, path .. "/" .. c.name)
			if not ok then return ok, why end
		elseif type(c) ~= "string" then
			return false, path .. ": child " .. i .. " is a " .. type(c)
		end
	end
	if #t.tags ~= j then return false, path .. ": " .. #t.tags .. " tags for " .. j .. " elements" end
	return true
end

local xml_ns = "http://www.w3.org/XML/1998/namespace"

-- Children with adjacent strings merged and empty ones dropped.
local function merged(t)
	local out = {}
	for i = 1, #t do
		local c = t[i]
		if type(c) == "string" then
			if c ~= "" then
				if type(out[#out]) == "string" then out[#out] = out[#out] .. c
				else out[#out + 1] = c end
			end
		else
			out[#out + 1] = c
		end
	end
	return out
end

-- Equality of meaning: namespaces resolved (a missing xmlns inherits),
-- XML-namespace attribute spellings unified, text runs merged.
local function same(a, b, ns_a, ns_b, path)
	ns_a = a.attr.xmlns or ns_a or "jabber:client"
	ns_b = b.attr.xmlns or ns_b or "jabber:client"
	path = path or a.name
	if a.name ~= b.name then return false, path .. ": name " .. tostring(b.name) end
	if ns_a ~= ns_b then return false, path .. ": namespace " .. ns_b .. ", want " .. ns_a end
	local function norm(attr)
		local n = {}
		for k, v in pairs(attr) do
			if k ~= "xmlns" and not k:match("^xmlns:") then
				k = k:gsub("^" .. xml_ns:gsub("%p", "%%%0") .. "\1", "xml:")
				n[k] = v
			end
		end
		return n
	end
	local x, y = norm(a.attr), norm(b.attr)
	for k, v in pairs(x) do
		if y[k] ~= v then return false, path .. ": attr " .. k:gsub("\1", "|") end
	end
	for k in pairs(y) do
		if x[k] == nil then return false, path .. ": extra attr " .. k:gsub("\1", "|") end
	end
	local ca, cb = merged(a), merged(b)
	if #ca ~= #cb then return false, path .. ": " .. #cb .. " children, want " .. #ca end
	for i = 1, #ca do
		if type(ca[i]) ~= type(cb[i]) then return false, path .. ": child kind " .. i end
		if type(ca[i]) == "string" then
			if ca[i] ~= cb[i] then return false, path .. ": text differs" end
		else
			local ok, why = same(ca[i], cb[i], ns_a, ns_b, path .. "/" .. ca[i].name)
			if not ok then return ok, why end
		end
	end
	return true
end

-- --- Prosody's own parser ----------------------------------------------------

local stream_header = "<stream:stream xmlns='jabber:client' "
	.. "xmlns:stream='http://etherx.jabber.org/streams' xml:lang='en'>"

-- Parses a stream with util.xmppstream as mod_c2s does; returns the
-- stanzas read before the end or the first error.
local function prosody_parse(data, default_ns)
	local session = { notopen = true }
	local out = {}
	local callbacks = {
		default_ns = default_ns or "jabber:client",
		streamopened = function(s) s.notopen = nil end,
		handlestanza = function(_, s) out[#out + 1] = s end,
		error = function(_, e) out.error = out.error or e end,
	}
	local stream = xmppstream.new(session, callbacks)
	local ok, err = pcall(stream.feed, stream, data)
	if not ok then out.error = out.error or err end
	return out
end

-- --- 1. the core's parser corpus, read by Prosody ------------------------

local function read_corpus()
	local files = {}
	local ls = io.popen("ls '" .. corpus_dir .. "'")
	for name in ls:lines() do
		if name:match("%.xml$") then files[#files + 1] = name end
	end
	ls:close()
	table.sort(files)
	return files
end

local function depth(t)
	local d = 0
	for _, c in ipairs(t.tags) do d = math.max(d, depth(c)) end
	return d + 1
end

local corpus_stanzas = 0
local every_stanza = {} -- for section 3b
for _, name in ipairs(read_corpus()) do
	local f = assert(io.open(corpus_dir .. "/" .. name, "rb"))
	-- The first byte is the fuzz target's mode tag.
	local data = f:read("a"):sub(2)
	f:close()
	if not data:match("^%s*<%?xml") and not data:match("^%s*<stream:stream") then
		data = stream_header .. data -- a standalone document
	end
	local default_ns = data:match("<stream:stream[^>]-xmlns='([^']*)'")
	local stanzas = prosody_parse(data, default_ns)
	for i, s in ipairs(stanzas) do
		local label = name .. " #" .. i .. " <" .. s.name .. ">"
		corpus_stanzas = corpus_stanzas + 1
		every_stanza[#every_stanza + 1] = s
		local r, err = bots.roundtrip(s)
		local ok, why = false, err
		if r then ok, why = exact(s, r) end
		check(label .. ": Lua -> core -> Lua is exact", ok, why)
		if r then check(label .. ": result is a util.stanza", well_formed(r)) end
		if r then
			check(label .. ": tostring equal", tostring(r) == tostring(s)
				or same(s, r), tostring(r))
		end
		-- The core's view, written by the core and read back by Prosody.
		local xml, serr = bots.serialize(s)
		if xml then
			local back = prosody_parse(stream_header .. xml)
			local b = back[1]
			ok, why = b ~= nil and #back == 1, back.error or "nothing parsed"
			if b then ok, why = same(s, b) end
			check(label .. ": core serialization reads back the same in Prosody",
				ok, (why or "") .. " " .. xml)
			-- And read by the core's parser (depth limit 32).
			if depth(s) <= 32 then
				local c, perr = bots.parse(xml)
				ok, why = c ~= nil, perr
				if c then ok, why = same(s, c) end
				check(label .. ": core parser agrees with util.xmppstream", ok, why)
			end
		else
			check(label .. ": core serialization", false, serr)
		end
	end
end
check("corpus gave at least 25 stanzas (got " .. corpus_stanzas .. ")", corpus_stanzas >= 25)

-- --- 2. tricky stanzas built with util.stanza --------------------------------

-- (No CR here: Prosody's tostring does not escape it, so it would not
-- survive the tostring + parse check below; the CR case is separate.)
local tricky_text = "< & ' \" ]]> &amp; \240\159\152\128 \240\144\141\136 "
	.. "\240\157\132\158 caf\195\169 \t\n end"
local built = {
	["escapes and 4-byte UTF-8"] = st.message({ to = "echobot@localhost", type = "chat",
			id = "e<&'\">1", ["xml:lang"] = "en" })
		:text_tag("body", tricky_text)
		:text_tag("body", "Hallo \240\159\152\128", { ["xml:lang"] = "de" })
		:text_tag("thread", "t]]>1"),
	["MUC self-presence"] = st.presence({ from = "room@conference.localhost/nick",
			to = "u@localhost/r", id = "p1" })
		:tag("x", { xmlns = "http://jabber.org/protocol/muc#user" })
			:tag("item", { affiliation = "none", role = "participant",
				jid = "u@localhost/r" }):up()
			:tag("status", { code = "110" }):up()
			:tag("status", { code = "100" }):up():up()
		:tag("occupant-id", { xmlns = "urn:xmpp:occupant-id:0", id = "abc" }):up(),
	["MUC join"] = st.presence({ to = "room@conference.localhost/nick" })
		:tag("x", { xmlns = "http://jabber.org/protocol/muc" })
			:tag("history", { maxchars = "0" }),
	["IQ with nested namespaces"] = st.iq({ type = "set", id = "pub1", to = "pubsub.localhost" })
		:tag("pubsub", { xmlns = "http://jabber.org/protocol/pubsub" })
			:tag("publish", { node = "urn:xmpp:microblog:0" })
				:tag("item", { id = "i1" })
					:tag("forwarded", { xmlns = "urn:xmpp:forward:0" })
						:tag("delay", { xmlns = "urn:xmpp:delay", stamp = "2024-01-01T00:00:00Z" }):up()
						:tag("message", { xmlns = "jabber:client", to = "a@b" })
							:text_tag("body", "inner")
						:up()
					:up()
				:up()
			:up()
			:tag("publish-options")
				:tag("x", { xmlns = "jabber:x:data", type = "submit" })
					:tag("field", { var = "FORM_TYPE", type = "hidden" })
						:text_tag("value", "http://jabber.org/protocol/pubsub#publish-options"),
	["namespaced attributes and empty namespace"] = st.message({ to = "a@b",
			["urn:example:foo\1hint"] = "x", hint = "y",
			["http://www.w3.org/XML/1998/namespace\1space"] = "preserve" })
		:tag("thing", { xmlns = "urn:example:foo", ["urn:example:foo\1a"] = "1", b = "2" })
			:tag("inner"):up()
			:tag("plain", { xmlns = "" }):up(),
	["IQ ping"] = st.iq({ type = "get", id = "ping1", to = "echobot@localhost/bot",
		from = "u@localhost/r" }):tag("ping", { xmlns = "urn:xmpp:ping" }),
	["split text runs"] = st.message({ to = "a@b" }):tag("body"):text("one "):text("two")
		:text(""):up(),
	-- Names outside ASCII are XML names as expat reads them.
	["names outside ASCII"] = st.message({ to = "a@b", ["caf\195\169"] = "1" })
		:tag("\206\187", { xmlns = "urn:example:greek", ["urn:example:greek\1\206\188"] = "2" }),
	-- A namespace whose name starts with "xmlns:" is data, not a declaration.
	["attribute in a namespace named xmlns:y"] = st.message({ to = "a@b", ["xmlns:y\1b"] = "1" }),
}
for name, s in pairs(built) do
	local r, err = bots.roundtrip(s)
	local ok, why = false, err
	if r then ok, why = same(s, r) end
	check(name .. ": round trip keeps the meaning", ok, why)
	if r then
		check(name .. ": result is a util.stanza", well_formed(r))
		-- Through the core twice: the second trip is exact.
		local r2 = bots.roundtrip(r)
		ok, why = r2 ~= nil, "second trip failed"
		if r2 then ok, why = exact(r, r2) end
		check(name .. ": second round trip is exact", ok, why)
		-- What Prosody's serializer makes of it, read back, means the same.
		local back = prosody_parse(stream_header .. tostring(r))[1]
		ok, why = back ~= nil, "unparsable: " .. tostring(r)
		if back and s.attr["xml:lang"] == nil then
			back.attr["xml:lang"] = nil -- util.xmppstream adds the stream's
		end
		if back then ok, why = same(s, back) end
		check(name .. ": tostring of the result parses back the same", ok, why)
	end
end

do
	-- The attr.xmlns convention of util.xmppstream on a c2s stream.
	local r = bots.roundtrip(built["IQ with nested namespaces"])
	local pubsub = r.tags[1]
	local publish = pubsub.tags[1]
	local inner = publish.tags[1].tags[1].tags[2]
	check("top-level jabber:client stanza carries no xmlns", r.attr.xmlns == nil)
	check("child in another namespace carries xmlns", pubsub.attr.xmlns == "http://jabber.org/protocol/pubsub")
	check("its descendants carry xmlns too (as util.xmppstream sets it)",
		publish.attr.xmlns == "http://jabber.org/protocol/pubsub")
	check("jabber:client below a foreign namespace carries xmlns",
		inner.name == "message" and inner.attr.xmlns == "jabber:client", inner.attr.xmlns)
	check("get_child finds the namespaced child",
		r:get_child("pubsub", "http://jabber.org/protocol/pubsub") == pubsub)
	check("find() walks the converted tree",
		r:find("{http://jabber.org/protocol/pubsub}pubsub/publish/item@id") == "i1")
	local m = bots.roundtrip(built["escapes and 4-byte UTF-8"])
	check("body text is byte-exact", m:get_child_text("body") == tricky_text)
	check("xml:lang kept as 'xml:lang'", m.attr["xml:lang"] == "en" and m.tags[2].attr["xml:lang"] == "de")
	check("body child carries no xmlns", m.tags[1].attr.xmlns == nil)
	local n = bots.roundtrip(built["namespaced attributes and empty namespace"])
	check("xml:space from a \\1 key comes back as xml:space", n.attr["xml:space"] == "preserve")
	check("foreign attribute keeps its 'ns\\1name' key", n.attr["urn:example:foo\1hint"] == "x")
	check("element in no namespace has xmlns ''", n.tags[1].tags[2].attr.xmlns == "")
end

do
	-- CR, the character XML parsers turn into LF unless escaped.
	local s = st.message():text_tag("body", "a\rb\r\nc")
	local r = bots.roundtrip(s)
	check("CR survives the bridge", r and r:get_child_text("body") == "a\rb\r\nc")
	local c = bots.parse(assert(bots.serialize(s)))
	check("CR survives core serialization and parsing", c and c:get_child_text("body") == "a\rb\r\nc")
end

do
	-- The table handed to send() is copied: rewriting it afterwards (as
	-- MUC does for every occupant) changes nothing already converted.
	local s = st.message({ to = "a@localhost", type = "groupchat" }):text_tag("body", "x")
	local r1 = bots.roundtrip(s)
	s.attr.to = "b@localhost"
	s.tags[1][1] = "y"
	check("conversion copies the table", r1.attr.to == "a@localhost" and r1:get_child_text("body") == "x")
end

-- --- 3. malformed tables give nil + message -----------------------------

local cyclic = st.message({ to = "a@b" })
cyclic[1] = cyclic
cyclic.tags[1] = cyclic
local deep = st.message()
for _ = 1, 300 do deep:tag("a") end
local shared = { name = "a", attr = {} }
for _ = 1, 30 do shared = { name = "a", attr = {}, shared, shared } end
local bad = {
	{ "not a table", "message" },
	{ "name not a string", { name = 5, attr = {} } },
	{ "no name", { attr = {} } },
	{ "empty name", { name = "", attr = {} } },
	{ "name with a space", { name = "a b", attr = {} } },
	{ "prefixed name", { name = "stream:features", attr = {} } },
	{ "name with invalid UTF-8", { name = "a\255", attr = {} } },
	{ "name with NUL", { name = "message\0x", attr = {} } },
	{ "child's name with NUL", { name = "message", attr = {}, { name = "body\0", attr = {} } } },
	{ "attr not a table", { name = "message", attr = "x" } },
	{ "attribute name not a string", { name = "message", attr = { [1] = "x" } } },
	{ "attribute value a number", { name = "message", attr = { id = 5 } } },
	{ "attribute value invalid UTF-8", { name = "message", attr = { id = "\192\128" } } },
	{ "attribute value with a control character", { name = "message", attr = { id = "a\1b" } } },
	{ "attribute value with NUL", { name = "message", attr = { id = "a\0b" } } },
	{ "attribute name with a space", { name = "message", attr = { ["a b"] = "x" } } },
	{ "xmlns not a string", { name = "message", attr = { xmlns = true } } },
	{ "namespace invalid UTF-8", { name = "message", attr = { xmlns = "urn:\255" } } },
	{ "text with NUL", { name = "message", attr = {}, "a\0b" } },
	{ "text invalid UTF-8", { name = "message", attr = {}, "\237\160\128" } },
	{ "text with a form feed", { name = "message", attr = {}, "a\12b" } },
	{ "child a number", { name = "message", attr = {}, 42 } },
	{ "child a boolean", { name = "message", attr = {}, true } },
	{ "child without a name", { name = "message", attr = {}, { attr = {} } } },
	{ "cyclic table", cyclic },
	{ "300 levels deep", deep },
	{ "name not an XML name (U+00D7)", { name = "a\195\151b", attr = {} } },
	{ "name starting with a combining mark", { name = "\204\191", attr = {} } },
	{ "attribute name not an XML name", { name = "message", attr = { ["a\195\151b"] = "x" } } },
	{ "element in the xmlns namespace", { name = "a", attr = { xmlns = "http://www.w3.org/2000/xmlns/" } } },
	{ "2^30 elements from 30 shared tables", shared },
}
for _, case in ipairs(bad) do
	local ok, r, err = pcall(bots.roundtrip, case[2])
	check("malformed (" .. case[1] .. ") -> nil, message",
		ok and r == nil and type(err) == "string" and #err > 0,
		ok and tostring(err) or r)
	local ok2, x, err2 = pcall(bots.serialize, case[2])
	check("malformed (" .. case[1] .. ") refused by serialize too",
		ok2 and x == nil and type(err2) == "string")
end
do
	local ok, r = pcall(bots.roundtrip, { name = "message", attr = {}, tags = "ignored" })
	check("tags field is not trusted (children come from the array part)", ok and r ~= nil)
end

-- --- 3b. a tree patched for the next stanza is what a fresh one would be ----
-- bot:deliver() patches the last delivery's tree where the next table
-- differs in attribute values and texts (MUC's copies of a message differ
-- in attr.to); bots.roundtrip(stanza, previous) does the same.

local function as_fresh(label, cur, prev)
	local fresh, ferr = bots.roundtrip(cur)
	local ok, patched, perr = pcall(bots.roundtrip, cur, prev)
	if not ok then return check(label, false, patched) end
	if not fresh then
		return check(label .. " (refused alike)", patched == nil and type(perr) == "string", perr)
	end
	local same_result, why = false, perr
	if patched then same_result, why = exact(fresh, patched) end
	check(label, same_result, why or ferr)
end

do
	local list = { st.message({ to = "a@b" }) }
	for _, x in ipairs(every_stanza) do list[#list + 1] = x end
	for _, x in pairs(built) do list[#list + 1] = x end
	local n = 0
	for i = 2, #list do
		local fresh = bots.roundtrip(list[i])
		local patched = bots.roundtrip(list[i], list[i - 1])
		local ok = (fresh == nil and patched == nil) or (fresh and patched and exact(fresh, patched))
		if ok then n = n + 1 else as_fresh("after stanza " .. (i - 1) .. ", stanza " .. i, list[i], list[i - 1]) end
	end
	check(("every corpus and built stanza after the one before is as fresh (%d of %d)")
		:format(n, #list - 1), n == #list - 1)

	local function groupchat(to, body, id)
		return st.message({ from = "room@conference.localhost/nick", to = to, type = "groupchat",
			id = "j1" }):text_tag("body", body)
			:tag("occupant-id", { xmlns = "urn:xmpp:occupant-id:0", id = id }):up()
	end
	local m = groupchat("a@localhost/bot", "Hello!", "occ1")
	local r1 = bots.roundtrip(m)
	m.attr.to = "b@localhost/bot"
	as_fresh("same table, attr.to rewritten (MUC)", m, r1)
	as_fresh("another phrase from another occupant",
		groupchat("c@localhost/bot", "Coffee time.", "occ2"), m)
	local changes = {
		["an attribute added"] = function(x) x.attr.xml_extra = "1"; end,
		["an attribute removed"] = function(x) x.attr.id = nil; end,
		["a child added"] = function(x) x:tag("thread"):text("t"):up(); end,
		["a child removed"] = function(x) x[#x], x.tags[#x.tags] = nil, nil; end,
		["text where an element was"] = function(x) x[1] = "text"; end,
		["an element where text was"] = function(x) x.tags[1][1] = st.stanza("b"); end,
		["empty text"] = function(x) x.tags[1][1] = ""; end,
		["text split in two"] = function(x) x.tags[1][1] = "Hel"; x.tags[1][2] = "lo!"; end,
		["a child's xmlns changed"] = function(x) x.tags[2].attr.xmlns = "urn:other"; end,
		["a child's xmlns removed"] = function(x) x.tags[2].attr.xmlns = nil; end,
		["the top's xmlns set"] = function(x) x.attr.xmlns = "jabber:server"; end,
		["the name changed"] = function(x) x.name = "presence"; end,
		["a name with NUL"] = function(x) x.name = "message\0x"; end,
		["a child renamed"] = function(x) x.tags[1].name = "subject"; end,
		["attr gone"] = function(x) x.tags[2].attr = nil; end,
		["xml:lang twice (two key forms)"] = function(x)
			x.attr["xml:lang"] = "en"
			x.attr["http://www.w3.org/XML/1998/namespace\1lang"] = "de"
		end,
		["a namespaced attribute's value"] = function(x) x.attr["urn:a\1b"] = "v"; end,
		["a value with NUL"] = function(x) x.attr.id = "a\0b"; end,
		["a value not UTF-8"] = function(x) x.attr.id = "\192\128"; end,
		["text with NUL"] = function(x) x.tags[1][1] = "a\0b"; end,
		["text with a form feed"] = function(x) x.tags[1][1] = "a\12b"; end,
		["xmlns with NUL"] = function(x) x.tags[2].attr.xmlns = "urn:a\0b"; end,
		["an xmlns: declaration with NUL"] = function(x) x.attr["xmlns:p"] = "u\0"; end,
		["a child a number"] = function(x) x[#x + 1] = 5; end,
		["a cycle"] = function(x) x[#x + 1] = x; end,
	}
	for what, change in pairs(changes) do
		local prev = groupchat("a@localhost/bot", "Hello!", "occ1")
		local cur = groupchat("a@localhost/bot", "Hello!", "occ1")
		change(cur)
		as_fresh("after the same message, " .. what, cur, prev)
		as_fresh("and back, " .. what, prev, cur)
	end
	local deep1, deep2 = st.message(), st.message()
	for _ = 1, 199 do deep1:tag("a"); deep2:tag("a") end
	as_fresh("200 levels, deepest text changed", deep2:text("y"), deep1:text("x"))
end

-- --- 4. bots behind a scripted host ------------------------------------------

local sent, logs, wakes = {}, {}, {}
local send_hook -- optional per-test override
local pool = bots.pool {
	send = function(data, stanza)
		if send_hook then return send_hook(data, stanza) end
		sent[#sent + 1] = { data = data, stanza = stanza }
	end,
	log = function(data, level, msg) logs[#logs + 1] = { data = data, level = level, msg = msg } end,
	wake = function(seconds) wakes[#wakes + 1] = seconds end,
}
local function take()
	local s = sent
	sent = {}
	return s
end

local echo_cfg = assert(bots.config("echo", {}))
local echo = assert(pool:new { config = echo_cfg, jid = "echobot@localhost", data = "ECHO" })
assert(echo:online("echobot@localhost/bot"))
local msg = st.message({ from = "u@localhost/r", to = "echobot@localhost", type = "chat",
	id = "m1", ["xml:lang"] = "en" }):text_tag("body", tricky_text):text_tag("thread", "th1")
check("deliver returns true", echo:deliver(msg) == true)
local out = take()
check("echo: one stanza sent, with the bot's data", #out == 1 and out[1].data == "ECHO")
if out[1] then
	local e = out[1].stanza
	check("echo: util.stanza result", well_formed(e))
	check("echo: back to the sender, same id/type/lang",
		e.attr.to == "u@localhost/r" and e.attr.id == "m1" and e.attr.type == "chat"
		and e.attr["xml:lang"] == "en" and e.attr.xmlns == nil, tostring(e))
	check("echo: body and thread byte-exact",
		e:get_child_text("body") == tricky_text and e:get_child_text("thread") == "th1")
	check("echo: marker in its own namespace",
		e:get_child("echo", "urn:xmppbots:echo") ~= nil)
end
echo:deliver(st.message({ from = "u@localhost/r", type = "groupchat", id = "g" }):text_tag("body", "x"))
echo:deliver(st.message({ from = "u@localhost/r", type = "chat", id = "s" })
	:tag("composing", { xmlns = "http://jabber.org/protocol/chatstates" }))
check("echo: groupchat and body-less messages not answered", #take() == 0)

echo:deliver(st.iq({ from = "u@localhost/r", type = "get", id = "p1" }):tag("ping", { xmlns = "urn:xmpp:ping" }))
echo:deliver(st.iq({ from = "u@localhost/r", type = "set", id = "q1" }):tag("query", { xmlns = "urn:example:none" }))
echo:deliver(st.iq({ from = "u@localhost/r", type = "result", id = "r1" }))
echo:deliver(st.iq({ from = "u@localhost/r", type = "error", id = "r2" }))
out = take()
check("IQs: two answers (get and set), none for result/error", #out == 2, #out)
if #out == 2 then
	local pong, refusal = out[1].stanza, out[2].stanza
	check("ping -> result", pong.attr.type == "result" and pong.attr.id == "p1"
		and pong.attr.to == "u@localhost/r" and #pong == 0, tostring(pong))
	local etype, cond = refusal:get_error()
	check("unknown IQ -> cancel/service-unavailable", refusal.attr.type == "error"
		and refusal.attr.id == "q1" and etype == "cancel" and cond == "service-unavailable",
		tostring(refusal))
end

-- A stanza the bot could not take is refused, not raised.
local r, err = echo:deliver({ name = "message", attr = { from = 5 } })
check("deliver of a malformed table -> nil, message", r == nil and type(err) == "string")
local stats = echo:stats()
check("echo stats: stanzas 7, IQ requests 2, echoed 1, ignored 2",
	stats.stanzas == 7 and stats.iq_requests == 2 and stats.echoed == 1 and stats.ignored == 2
	and stats.kind == "echo" and stats.state == "online",
	("stanzas %d echoed %d ignored %d"):format(stats.stanzas, stats.echoed, stats.ignored))

-- Callback errors are caught, logged and counted; the bot goes on.
send_hook = function() error("boom in send") end
logs = {}
echo:deliver(st.message({ from = "u@localhost/r", type = "chat", id = "m2" }):text_tag("body", "x"))
send_hook = nil
check("a raising send callback is logged, not propagated",
	#logs == 1 and logs[1].level == "error" and logs[1].msg:find("boom in send", 1, true)
	and logs[1].data == "ECHO", logs[1] and logs[1].msg)
check("and counted in pool errors", pool:stats().errors == 1)

-- bots.deliver_all(): one table to many bots, converted once (what a room
-- sends its bot occupants with bots_muc_direct).
do
	local echo2 = assert(pool:new { config = echo_cfg, jid = "echo2@localhost", data = "ECHO2" })
	assert(echo2:online("echo2@localhost/bot"))
	local gone = assert(pool:new { config = echo_cfg, jid = "gone@localhost", data = "GONE" })
	gone:close()
	local s1, s2 = echo:stats().stanzas, echo2:stats().stanzas
	take()
	local m = st.message({ from = "u@localhost/r", to = "room@conference.localhost", type = "chat",
		id = "da" }):text_tag("body", "to all")
	local list = { echo, "echobot@localhost/bot", gone, "gone@localhost/bot", "not a bot", "x",
		echo2, "echo2@localhost/bot" }
	check("deliver_all returns true", bots.deliver_all(m, list, 4) == true)
	local o = take()
	check("deliver_all: each live bot got it once (two echoes), closed bots and others skipped",
		#o == 2 and o[1].data == "ECHO" and o[2].data == "ECHO2", #o)
	check("deliver_all: each bot counted one stanza",
		echo:stats().stanzas == s1 + 1 and echo2:stats().stanzas == s2 + 1)
	check("deliver_all: the table is as it was", m.attr.to == "room@conference.localhost"
		and m.attr.id == "da" and m:get_child_text("body") == "to all" and #m.tags == 1)
	local refused0 = pool:stats().refused
	local r2, e2 = bots.deliver_all({ name = "message", attr = { from = 5 } }, list, 4)
	check("deliver_all of a table it cannot take -> nil, message", r2 == nil and type(e2) == "string")
	check("deliver_all: refused, counted once per live bot", pool:stats().refused == refused0 + 2)
	check("deliver_all to none -> true", bots.deliver_all(m, {}, 0) == true and #take() == 0)
	echo2:close()
end

-- Jumpers.
local cfg = assert(bots.config("jumper", { muc = "conference.localhost", rooms = 3, room_prefix = "r",
	phrases = { 2, 2 }, interval = { 0.001, 0.002 },
	phrase_list = { "phrase <one> & \240\159\152\128", "phrase two" } }))
local j = assert(pool:new { jid = "j1@localhost", seed = 7, index = 1,
	config = cfg, data = "J1" })
wakes = {}
j:online("j1@localhost/bot")
out = take()
check("jumper: join presence on online", #out == 1 and out[1].stanza.name == "presence"
	and out[1].stanza:get_child("x", "http://jabber.org/protocol/muc") ~= nil,
	out[1] and tostring(out[1].stanza))
check("jumper: state joining, a join timeout armed and the host woken",
	j:stats().state == "joining" and j:stats().timer ~= nil and #wakes == 1)
local room_full = out[1] and out[1].stanza.attr.to
local room = room_full and room_full:match("^[^/]+")
check("jumper: room from the config", room and room:match("^r%d@conference%.localhost$"), room)
local self_presence = st.presence({ from = room_full, to = "j1@localhost/bot" })
	:tag("x", { xmlns = "http://jabber.org/protocol/muc#user" })
	:tag("item", { role = "participant", affiliation = "none" }):up()
	:tag("status", { code = "110" }):up():up()
j:deliver(self_presence)
check("jumper: in the room after its self-presence", j:stats().state == "in-room"
	and j:stats().joins == 1 and j:stats().where == room, j:stats().where)
j:deliver(st.message({ from = room .. "/other", type = "groupchat", id = "o1" }):text_tag("body", "hi"))
check("jumper: counts groupchat from others", j:stats().groupchat_received == 1)

-- The pool's timer heap drives the phrases.
local deadline = os.clock() + 5
while j:stats().groupchat_sent < 1 and os.clock() < deadline do
	pool:tick()
end
out = take()
check("jumper: tick() fired a phrase", #out >= 1 and out[1].stanza.attr.type == "groupchat"
	and out[1].stanza.attr.to == room, out[1] and tostring(out[1].stanza))
if out[1] then
	local body = out[1].stanza:get_child_text("body")
	check("jumper: phrase from the config list", body == "phrase <one> & \240\159\152\128"
		or body == "phrase two", body)
end
while j:stats().groupchat_sent < 2 and os.clock() < deadline do pool:tick() end
out = take()
check("jumper: after the last phrase it leaves and joins another room",
	#out == 3 and out[2].stanza.attr.type == "unavailable"
	and out[3].stanza.attr.to:match("^[^/]+") ~= room and j:stats().state == "joining",
	#out)

-- Reproducible: the same seed and index give the same run.
local function run(seed)
	local log = {}
	local p = bots.pool { send = function(_, s) log[#log + 1] = tostring(s) end }
	local b = p:new { jid = "rep@localhost", seed = seed, index = 3, config = cfg }
	b:online("rep@localhost/x")
	for _ = 1, 6 do
		local last = log[#log]
		local rf = last and last:match("to='([^']+)'")
		if rf and last:find("<presence", 1, true) and not last:find("unavailable", 1, true) then
			b:deliver(st.presence({ from = rf:gsub("&apos;", "'") })
				:tag("x", { xmlns = "http://jabber.org/protocol/muc#user" })
				:tag("status", { code = "110" }):up():up())
		end
		b:timer()
	end
	p:close()
	return table.concat(log, "\n")
end
check("same seed, same run", run(42) == run(42))
check("another seed, another run", run(42) ~= run(43))

-- Many bots on one heap: all timers fire, in order, none lost.
do
	local count = 0
	local p = bots.pool { send = function() count = count + 1 end }
	local many = {}
	for i = 1, 2000 do
		many[i] = p:new { jid = "m" .. i .. "@localhost", seed = 1,
			index = i, config = cfg }
		many[i]:online("m" .. i .. "@localhost/b")
	end
	check("2000 jumpers: 2000 joins sent, 2000 timers armed",
		count == 2000 and p:stats().timers == 2000 and p:stats().online == 2000)
	for i = 1, 2000, 2 do many[i]:close() end
	check("closing 1000 disarms their timers", p:stats().timers == 1000 and p:stats().bots == 1000)
	for i = 2, 2000, 2 do many[i]:offline() end
	check("offline disarms the rest", p:stats().timers == 0 and p:stats().online == 0)
	p:close()
end

-- Closing from inside a callback is deferred until the call returns.
do
	local p, b
	p = bots.pool { send = function() b:close() end }
	b = p:new { config = echo_cfg, jid = "c@localhost" }
	b:online("c@localhost/r")
	local ok = pcall(b.deliver, b, st.message({ from = "u@localhost/r", type = "chat", id = "1" })
		:text_tag("body", "x"))
	check("close inside a send callback is deferred", ok and select(2, b:deliver(st.message())) == "bot is closed")
	check("the pool keeps the closed bot's counters", p:stats().echoed == 1 and p:stats().bots == 0)
	local ok2, e2 = pcall(p.close, p)
	check("pool:close() outside callbacks works", ok2, e2)
end

-- Stopping a joining jumper sends its leave presence.
j:stop()
out = take()
check("stopping a joining jumper leaves the room", #out == 1
	and out[1].stanza.attr.type == "unavailable", #out)
check("stopped jumper: state stopped, no timer", j:stats().state == "stopped" and j:stats().timer == nil)

-- Bad config and bad bots.
-- bots.config(kind, options) -> config | nil, key, what it must be.
local function refused(kind, options)
	return select("#", bots.config(kind, options)) > 1 and { select(2, bots.config(kind, options)) } or nil
end
local r1 = refused("jumper", { muc = "not a jid@" })
check("config: bad MUC service refused, with the reason", r1 and r1[1] == nil
	and r1[2]:find("not a MUC service", 1, true), r1 and r1[2])
local r2 = refused("jumper", { phrases = { 3, 2 } })
check("config: phrases min > max refused, naming the key", r2 and r2[1] == "phrases"
	and r2[2]:find("the first not above the second", 1, true), r2 and r2[2])
local r3 = refused("jumper", { rooms = "many" })
check("config: a wrong type is refused, not raised", r3 and r3[1] == "rooms"
	and r3[2] == "a whole number from 1 to 100000000", r3 and r3[2])
local r4 = refused("jumper", { room = 3 })
check("config: an unknown key is named, with no reason", r4 and r4[1] == "room" and r4[2] == nil)
check("config: a list of strings only", refused("jumper", { phrase_list = { "a", 5 } }) ~= nil)
check("config: a range of two numbers", refused("jumper", { interval = { 1, 2, 3 } }) ~= nil)
do
	local huge = {}
	for i = 1, 1000001 do huge[i] = "a" end
	local r = refused("jumper", { phrase_list = huge })
	check("config: a list of more than 10^6 items is refused", r and r[1] == "phrase_list", r and r[2])
	-- A table with holes: # may be any border; nothing is read past it.
	local holes = { [1] = "a", [2] = "b", [4] = "c", [1 << 40] = "d" }
	check("config: a list with holes is taken up to a border, or refused",
		pcall(bots.config, "jumper", { phrase_list = holes }))
end
check("config: the text form works too", bots.config("jumper", { interval = "1-2", rooms = "4" }) ~= nil)
check("config: the load kind needs its echo bot", refused("load", {}) ~= nil)
check("config: unknown kind raises", not pcall(bots.config, "nope", {}))
check("new: bad JID -> nil, message", select(2, pool:new { config = echo_cfg, jid = "a@b@c" }) ~= nil)
check("new: no config raises", not pcall(pool.new, pool, { jid = "a@b" }))
-- The kinds' tables, as hosts read them.
local kinds = bots.kinds()
local names = {}
for _, k in ipairs(kinds) do names[#names + 1] = k.name end
check("kinds: echo, jumper, load, webpresence", table.concat(names, " ") == "echo jumper load webpresence",
	table.concat(names, " "))
check("kinds: webpresence is a service with pages, echo neither",
	kinds[4].service == true and kinds[4].pages == true and kinds[1].service == false
	and kinds[1].pages == false)
check("kinds: jumpers read only their own room presence, echo bots all",
	kinds[2].own_room_presence == true and kinds[1].own_room_presence == false)
check("kinds: options with their defaults", kinds[2].options[2].name == "rooms"
	and kinds[2].options[2].default == "10")
check("kinds: counters, common ones first", kinds[1].counters[1].name == "stanzas"
	and kinds[2].counters[3].name == "joins")

-- --- 5. a service with storage and pages (webpresence) -----------------------

do
	local stored, failing, wsent, wlogs = {}, nil, {}, {}
	local function copy(t)
		local c = {}
		for k, v in pairs(t) do c[k] = v end
		return c
	end
	local store = {
		load = function(data)
			if failing == "load" then return nil, "no disk" end
			if failing == "raise" then error("store exploded") end
			assert(data == "GW")
			return copy(stored)
		end,
		put = function(_, key, value)
			if failing then return nil, "disk full" end
			stored[key] = value
			return true
		end,
		del = function(_, key)
			if failing then return nil, "disk full" end
			stored[key] = nil
			return true
		end,
	}
	local function new_pool(url)
		return bots.pool {
			send = function(_, s) wsent[#wsent + 1] = s end,
			log = function(_, level, msg) wlogs[#wlogs + 1] = level .. " " .. msg end,
			store_load = function(...) return store.load(...) end,
			store_put = function(...) return store.put(...) end,
			store_del = function(...) return store.del(...) end,
			http_url = url,
		}
	end
	local function wtake()
		local t = wsent
		wsent = {}
		return t
	end
	local url = "http://presence.localhost:5280/bots/"
	local p = new_pool(url)
	local wcfg = assert(bots.config("webpresence", { refresh = 7 }))
	local gw, gerr = p:new { config = wcfg, jid = "presence.localhost", data = "GW" }
	check("webpresence: made at a domain, its stored data loaded", gw ~= nil, gerr)
	gw:online("presence.localhost")
	local function register(user, id, s, j)
		return st.iq({ from = user .. "/r", to = "presence.localhost", type = "set", id = id })
			:tag("query", { xmlns = "jabber:iq:register" })
			:tag("x", { xmlns = "jabber:x:data", type = "submit" })
			:tag("field", { var = "FORM_TYPE", type = "hidden" }):text_tag("value", "jabber:iq:register"):up()
			:tag("field", { var = "show_status_msg" }):text_tag("value", s):up()
			:tag("field", { var = "show_full_jid" }):text_tag("value", j):up()
	end
	local function reply_to(out, id)
		for _, s in ipairs(out) do
			if s.name == "iq" and s.attr.id == id then return s end
		end
	end
	gw:deliver(register("u@localhost", "reg1", "1", "0"))
	local out = wtake()
	local res = reply_to(out, "reg1")
	check("webpresence: a registration is answered", res and res.attr.type == "result", res and tostring(res))
	local value = stored["u@localhost"] or ""
	local token = value:match("^([%w_-]+) 1 0$")
	check("webpresence: the registration went to the store", token and #token == 24, value)
	local told
	for _, s in ipairs(out) do
		local body = s.name == "message" and s:get_child_text("body")
		if body and token and body:find(url .. token, 1, true) then told = true end
	end
	check("webpresence: the page address is the host's http_url and the token", told)
	token = token or "x"

	local status, ctype, headers, body = gw:http(token)
	check("webpresence: the HTML page", status == 200 and ctype == "text/html; charset=utf-8"
		and body:find('data-show="offline"', 1, true) and body:find('content="7"', 1, true),
		status)
	check("webpresence: the kind's headers, by name",
		headers["Referrer-Policy"] == "no-referrer" and headers["X-Content-Type-Options"] == "nosniff"
		and headers["Content-Security-Policy"] ~= nil)
	gw:deliver(st.presence({ from = "u@localhost/r", to = "presence.localhost" })
		:text_tag("show", "away"):text_tag("status", "at <lunch> & \240\159\141\149"))
	status, ctype, headers, body = gw:http(token .. ".json")
	local json = require "util.json"
	local doc = status == 200 and json.decode(body)
	check("webpresence: JSON shows the presence and status",
		ctype == "application/json" and doc and doc.show == "away"
		and doc.status == "at <lunch> & \240\159\141\149" and headers["Access-Control-Allow-Origin"] == "*",
		body)
	status, ctype = gw:http(token .. ".svg")
	check("webpresence: the SVG badge", status == 200 and ctype == "image/svg+xml")
	local hostile = { "", "\0", token .. "\0", token .. "\0.json", ("A"):rep(1000000),
		"../" .. token, token .. "/", token:sub(1, 23), token .. "x", ".json", "\255\254" }
	local all404 = true
	for _, path in ipairs(hostile) do
		local s2, t2, h2, b2 = gw:http(path)
		if s2 ~= 404 or t2 ~= "text/plain; charset=utf-8" or h2["Cache-Control"] ~= "no-store"
			or type(b2) ~= "string" then
			all404 = false
		end
	end
	check("webpresence: hostile and unknown paths are 404", all404)
	check("webpresence: http(path) needs a string", not pcall(gw.http, gw, {}))
	local stats = gw:stats()
	check("webpresence: counters (registered 1, pages 3, not found 11)",
		stats.registered == 1 and stats.pages_served == 3 and stats.pages_not_found == #hostile
		and stats.kind == "webpresence" and stats.state == "serving",
		("%d %d %d"):format(stats.registered, stats.pages_served, stats.pages_not_found))

	-- A store that fails: the user gets internal-server-error, nothing changes.
	failing = "put"
	wlogs = {}
	gw:deliver(register("v@localhost", "reg2", "0", "0"))
	res = reply_to(wtake(), "reg2")
	local function condition(r) return r and select(2, r:get_error()) end
	local cond = condition(res)
	check("webpresence: a failing store -> internal-server-error", res and res.attr.type == "error"
		and cond == "internal-server-error", res and tostring(res))
	check("webpresence: nothing stored, the failure counted and logged",
		stored["v@localhost"] == nil and gw:stats().store_failures == 1 and gw:stats().registered == 1
		and #wlogs >= 1 and wlogs[#wlogs]:find("v@localhost", 1, true), wlogs[#wlogs])
	gw:deliver(st.iq({ from = "u@localhost/r", to = "presence.localhost", type = "set", id = "rm1" })
		:tag("query", { xmlns = "jabber:iq:register" }):tag("remove"))
	res = reply_to(wtake(), "rm1")
	cond = condition(res)
	check("webpresence: a failing delete -> internal-server-error, still registered",
		cond == "internal-server-error" and stored["u@localhost"] and gw:http(token) == 200)
	failing = nil

	-- Registrations outlive the bot: a new one loads them.
	local gw2 = p:new { config = wcfg, jid = "presence.localhost", data = "GW" }
	check("webpresence: a new bot serves the stored registration", gw2 and gw2:http(token) == 200)
	gw2:online("presence.localhost")
	out = wtake()
	check("webpresence: online, it probes its users", #out == 1 and out[1].attr.type == "probe"
		and out[1].attr.to == "u@localhost", out[1] and tostring(out[1]))
	gw2:deliver(st.iq({ from = "u@localhost/r", to = "presence.localhost", type = "set", id = "rm2" })
		:tag("query", { xmlns = "jabber:iq:register" }):tag("remove"))
	check("webpresence: unregistered, deleted from the store, 404",
		stored["u@localhost"] == nil and gw2:http(token) == 404)
	gw2:close()

	-- Stored data that is not the kind's, or a store that fails: no bot.
	stored["w@localhost"] = "not a registration"
	local b1, e1 = p:new { config = wcfg, jid = "presence.localhost", data = "GW" }
	check("webpresence: a bad stored record -> nil, message", b1 == nil
		and e1:find("could not load the stored registrations", 1, true), e1)
	stored = { [5] = "x" }
	local b2, e2 = p:new { config = wcfg, jid = "presence.localhost", data = "GW" }
	check("webpresence: a stored key that is no string -> nil, message", b2 == nil and e2, e2)
	stored = { ["a\0b@localhost"] = "x" }
	check("webpresence: a key with NUL -> nil", p:new { config = wcfg, jid = "presence.localhost", data = "GW" } == nil)
	stored = {}
	for _, how in ipairs { "load", "raise" } do
		failing, wlogs = how, {}
		local b3, e3 = p:new { config = wcfg, jid = "presence.localhost", data = "GW" }
		check("webpresence: a store that " .. how .. "s fails -> nil, message", b3 == nil
			and e3:find("could not load", 1, true), e3)
	end
	check("webpresence: the raising store was logged", wlogs[1] and wlogs[1]:find("store exploded", 1, true),
		wlogs[1])
	failing = nil
	-- Without pages a kind with pages refuses to start; without a store
	-- it keeps its data in memory.
	local nopages = bots.pool { send = function() end }
	local b4, e4 = nopages:new { config = wcfg, jid = "presence.localhost" }
	check("webpresence: no http_url -> nil, message", b4 == nil and e4:find("serves web pages", 1, true), e4)
	check("echo: no pages -> nil, message", select(2, bots.pool { send = print }:new {
		config = echo_cfg, jid = "e@localhost" }:http("x")) == "not found")
	check("pool: store callbacks all or none", not pcall(bots.pool, { send = print, store_load = print }))
	check("pool: http_url ends in /", not pcall(bots.pool, { send = print, http_url = "http://a" }))
	check("pool: http_url without NUL", not pcall(bots.pool, { send = print, http_url = "http://a\0/" }))
	check("pool: http_url a string", not pcall(bots.pool, { send = print, http_url = 5 }))
	gw:close()
	p:close()
	local m = new_pool(url)
	local b5 = m:new { config = wcfg, jid = "presence.localhost", data = "GW" }
	m:close()
	check("pool: closed with a webpresence bot", b5 and select(2, b5:http("x")) == "bot is closed")
end

-- Everything is released by the GC (run under valgrind for the proof).
echo, j, pool = nil, nil, nil
collectgarbage()
collectgarbage()
check("garbage collection of pools and bots", true)

print(("%d passed, %d failed"):format(passed, failed))
-- Closing the state runs every finalizer: leaks show under valgrind.
os.exit(failed == 0 and 0 or 1, true)
