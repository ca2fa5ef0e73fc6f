#!/usr/bin/env bash
# Runs tests/mod_bots_bridge.lua (the C module's unit test) with lua5.4,
# Prosody's util modules and the freshly built xmppbots_bots.so. With
# $XB_WRAP set (make check-valgrind) it runs under that wrapper, with the
# leaks of Prosody's util.encodings (ICU) and of glibc's dlopen/dlclose
# suppressed; an AddressSanitizer build gets libasan preloaded and runs
# with LeakSanitizer on. Skips (77) without lua5.4 or Prosody's sources.
set -u
# shellcheck source=tests/testlib.sh
. "$(dirname "$0")/testlib.sh"
lua=${LUA:-lua5.4}
so="$build/mod_bots/.libs/xmppbots_bots.so"

need 77 "$lua"
[ -f /usr/lib/prosody/util/stanza.lua ] ||
    give_up 77 "Prosody's Lua sources are not in /usr/lib/prosody"
need_built -f "$so"

read -r -a wrap <<< "${XB_WRAP:-}"

if [ ${#wrap[@]} -gt 0 ] && [ "$(basename "${wrap[0]}")" = valgrind ]; then
    cat > "$tmp/prosody.supp" <<'EOF'
{
   prosody-util-encodings-icu-singletons
   Memcheck:Leak
   ...
   fun:luaopen_util_encodings
}
{
   glibc-dlclose
   Memcheck:Leak
   ...
   fun:_dl_close_worker
}
{
   shared-library-constructors
   Memcheck:Leak
   ...
   fun:call_init
}
{
   shared-library-loading
   Memcheck:Leak
   ...
   fun:dl_open_worker
}
EOF
    wrap=("${wrap[0]}" --suppressions="$tmp/prosody.supp" --keep-debuginfo=yes
        "${wrap[@]:1}")
fi

# A sanitizer build of the module needs the runtime loaded first. The ICU
# libraries of util.encodings are preloaded too, so that they stay mapped
# and LeakSanitizer can name (and we suppress) their one-time allocations.
preload=""
if ldd "$so" 2> /dev/null | grep -q libasan; then
    preload=$(${CC:-gcc} -print-file-name=libasan.so)
    for lib in $(ldd /usr/lib/prosody/util/encodings.so | awk '/libicu/ { print $3 }'); do
        preload="$preload:$lib"
    done
    printf "leak:luaopen_util_encodings\nleak:libicu\n" > "$tmp/lsan.supp"
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
    export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$tmp/lsan.supp}
fi

LUA_CPATH="$build/mod_bots/.libs/?.so;;" LD_PRELOAD="$preload" \
    timeout 600 ${wrap[@]+"${wrap[@]}"} "$lua" "$src/tests/mod_bots_bridge.lua" \
    "$src/tests/corpus/parser"
