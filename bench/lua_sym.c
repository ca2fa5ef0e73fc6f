/*
 * A minimal lua5.4 for profiling Prosody under callgrind: Debian's lua5.4 is
 * stripped, so the collector and the VM show up as addresses; linked whole
 * with liblua5.4.a (which keeps its symbols) and exporting them (-Wl,-E) for
 * Prosody's C modules, it runs `lua_sym SCRIPT ARGS...` as lua5.4 does.
 * Built by bench/profile_inserver.sh --tool callgrind.
 */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>

static int traceback(lua_State *L)
{
    luaL_traceback(L, L, lua_tostring(L, 1), 1);
    return 1;
}

int main(int argc, char **argv)
{
    lua_State *L = luaL_newstate();
    int i, rc;

    if (!L || argc < 2) {
        fprintf(stderr, "usage: %s SCRIPT [ARGS...]\n", argv[0]);
        return 1;
    }
    luaL_openlibs(L);
    /* As lua.c: arg[0] the script, arg[1..] its arguments, and the
     * generational collector until the script says otherwise. */
    lua_gc(L, LUA_GCGEN, 0, 0);
    lua_createtable(L, argc - 2, 2);
    for (i = 0; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i - 1);
    }
    lua_setglobal(L, "arg");
    lua_pushcfunction(L, traceback);
    if (luaL_loadfile(L, argv[1]) != LUA_OK) {
        fprintf(stderr, "%s\n", lua_tostring(L, -1));
        return 1;
    }
    for (i = 2; i < argc; i++)
        lua_pushstring(L, argv[i]);
    rc = lua_pcall(L, argc - 2, 0, 1);
    if (rc != LUA_OK)
        fprintf(stderr, "%s\n", lua_tostring(L, -1));
    lua_close(L);
    return rc == LUA_OK ? 0 : 1;
}
