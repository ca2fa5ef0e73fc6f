# shellcheck shell=bash
# For the tests of what only Prosody has (mod_bots, its shell, direct
# TLS, SRV): tests/serverlib.sh with XB_SERVER=prosody whatever the
# environment says, and the names those tests use; sourced:
#   . "$(dirname "$0")/prosodylib.sh"
# Sets prosody_sh (tests/prosody.sh); prosody_start tls|plain and
# prosody_stop are server_start and server_stop; mod_bots_plugins lays
# out mod_bots from the build tree for XB_PROSODY_MODULES.

XB_SERVER=prosody
# shellcheck source=tests/serverlib.sh
. "$(dirname "${BASH_SOURCE[0]}")/serverlib.sh"
# shellcheck disable=SC2034 # used by the tests
prosody_sh=$server_sh
prosody_start() { server_start "$@"; }
prosody_stop() { server_stop; }

# mod_bots_plugins: mod_bots from the build tree, as make install lays it
# out, in $tmp/plugins (sets so and plugins), and Prosody's logs shown when
# the test fails. Gives up (77) when the C module is a sanitizer build,
# which Prosody cannot load.
mod_bots_plugins() {
    so="$build/mod_bots/.libs/xmppbots_bots.so"
    need_built -f "$so"
    if ldd "$so" | grep -q libasan; then
        give_up 77 "a sanitizer build cannot be loaded into prosody"
    fi
    plugins="$tmp/plugins"
    mkdir -p "$plugins"
    cp "$src/mod_bots/mod_bots.lua" "$so" "$plugins/"
    on_exit show_prosody_logs
}
show_prosody_logs() { show_tails 25 "$dir/prosody.err" "$dir/prosody.log"; }
