-- A 10-line pure-Lua echo for comparison with mod_bots (bench only): answers
-- chat/normal messages with a body sent to the bare JID lua_echo_jid.
local st = require "util.stanza";
local echo_jid = module:get_option_string("lua_echo_jid", "echobot@" .. module.host);
module:hook("message/bare", function(event)
	local m, t = event.stanza, event.stanza.attr.type or "normal";
	if m.attr.to ~= echo_jid or (t ~= "chat" and t ~= "normal") then return; end
	local body = m:get_child_text("body");
	if not body then return; end
	module:send(st.message({ to = m.attr.from, from = echo_jid, type = m.attr.type, id = m.attr.id }):text_tag("body", body));
	return true;
end, 1);
