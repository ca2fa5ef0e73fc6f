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
# private Prosody with the module loaded from the build tree.
#
# This file is included before Makefile.am first sets TESTS and EXTRA_DIST,
# and automake refuses '+=' on a variable not yet set with '='. So the
# tests run from check-local (with the same environment as TESTS, so that
# check-valgrind's XB_WRAP reaches them, and a .log per test), and the
# files are distributed as dist_noinst_*.
MOD_BOTS_TESTS = tests/mod_bots_bridge.sh tests/mod_bots_prosody.sh
dist_noinst_SCRIPTS = $(MOD_BOTS_TESTS) bench/mod_bots_scale.sh
dist_noinst_DATA = tests/mod_bots_bridge.lua tests/slix_modbots.py \
	bench/peers/mod_lua_echo.lua doc/mod_bots.md
check-local: $(prosodyplugin_LTLIBRARIES)
	@fail=0; \
	for t in $(MOD_BOTS_TESTS); do \
		log=$${t%.sh}.log; mkdir -p "$$(dirname "$$log")"; \
		( $(AM_TESTS_ENVIRONMENT) $(TESTS_ENVIRONMENT) \
		  top_srcdir='$(top_srcdir)' top_builddir='$(top_builddir)' \
		  $(SHELL) '$(srcdir)/'"$$t" ) > "$$log" 2>&1; rc=$$?; \
		case $$rc in \
		0) res=PASS ;; 77) res=SKIP ;; *) res=FAIL; fail=1 ;; esac; \
		echo "$$res: $$t ($$(tail -n 1 "$$log"))"; \
		if [ "$$res" = FAIL ]; then tail -n 30 "$$log"; fi; \
	done; \
	test $$fail -eq 0
MOSTLYCLEANFILES = tests/mod_bots_bridge.log tests/mod_bots_prosody.log
