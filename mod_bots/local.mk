# mod_bots: the Prosody module (included by the top-level Makefile.am).
#
# A Lua 5.4 C module built against Lua's headers only: Prosody's lua5.4
# binary provides the lua_* symbols, so liblua is never linked (a second
# Lua would be loaded). Only luaopen_xmppbots_bots is exported: our own
# objects are built with -fvisibility=hidden, and the core's symbols (from
# the PIC convenience library) are hidden by the export regex.
prosodyplugin_LTLIBRARIES = mod_bots/xmppbots_bots.la
mod_bots_xmppbots_bots_la_SOURCES = mod_bots/bots.c \
	mod_bots/bridge.c mod_bots/bridge.h
mod_bots_xmppbots_bots_la_CFLAGS = $(AM_CFLAGS) $(LUA_CFLAGS) \
	-fvisibility=hidden
mod_bots_xmppbots_bots_la_LDFLAGS = $(AM_LDFLAGS) -module -avoid-version \
	-shared -export-symbols-regex '^luaopen_'
mod_bots_xmppbots_bots_la_LIBADD = core/libxbcore.la
dist_prosodyplugin_DATA = mod_bots/mod_bots.lua

# Tests: the bridge unit test (lua5.4 with Prosody's util modules) and a
# private Prosody with the module loaded from the build tree: user bots on
# its VirtualHost (and with bots_muc_direct), and the web presence gateway
# on a component host.
TESTS += tests/mod_bots_bridge.sh tests/mod_bots_prosody.sh \
	tests/mod_bots_muc_direct.sh tests/webpresence_prosody.sh
NOT_UNDER_VALGRIND += tests/mod_bots_prosody.sh tests/mod_bots_muc_direct.sh \
	tests/webpresence_prosody.sh
EXTRA_DIST += tests/mod_bots_bridge.sh tests/mod_bots_prosody.sh \
	tests/mod_bots_muc_direct.sh \
	tests/mod_bots_bridge.lua tests/webpresence_prosody.sh tests/wp_user.py \
	tests/browser_watch.py tests/wplib.sh \
	bench/mod_bots_scale.sh bench/peers/mod_lua_echo.lua \
	bench/profile_inserver.sh bench/mod_lua_profile.lua bench/lua_sym.c \
	bench/callgrind_split.py
