# shellcheck shell=bash
# Shared by the bash tests that run a private Prosody (tests/prosody.sh) on
# 127.0.0.1 and check it with slixmpp clients; sourced, and sources
# testlib.sh (so everything there is available too):
#   . "$(dirname "$0")/prosodylib.sh"
# Sets py (the Python with slixmpp), pw (every account's password), dir (the
# server's directory in $tmp) and, once started, port (and tls_port, if the
# test sets it before, for direct TLS). The server is stopped on exit, after
# the test's own on_exit functions.

# shellcheck source=tests/testlib.sh
. "$(dirname "${BASH_SOURCE[0]}")/testlib.sh"

py=/usr/bin/python3
# No __pycache__ of tests/slixcommon.py left in the source tree.
export PYTHONDONTWRITEBYTECODE=1
prosody_sh="$src/tests/prosody.sh"
# shellcheck disable=SC2034 # used by the tests
pw=secret-pw
dir="$tmp/prosody"
port=""
tls_port=""

# need_slixmpp STATUS: $py can import slixmpp, else give_up STATUS.
need_slixmpp() {
    local hint=""
    [ "$1" -eq 77 ] || hint=" (./dev deps installs it)"
    "$py" -c 'import slixmpp' 2> /dev/null ||
        give_up "$1" "$py cannot import slixmpp$hint"
}

# Is something listening on this port of 127.0.0.1?
port_busy() { (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null; }

# prosody_start tls|plain: starts the server in $dir on $port, and direct
# TLS on $tls_port if set (the XB_PROSODY_* variables of tests/prosody.sh
# pass through), bounded.
prosody_start() {
    timeout 60 bash "$prosody_sh" start "$dir" "$port" "$1" ${tls_port:+"$tls_port"} \
        > "$tmp/prosody-start.err" 2>&1 &&
        ! grep -q "Failed to open server port" "$dir/prosody.err" 2> /dev/null
}
prosody_stop() { bash "$prosody_sh" stop "$dir" > /dev/null 2>&1; }
on_exit prosody_stop

# start_on_free_port BASE COUNT START...: sets port to one of ten ports
# BASE + ($$ + k * 997) % 10000 (keep BASE + 10000 + COUNT below 32768,
# under the ephemeral range) that is free with the COUNT - 1 ports after
# it, and runs START there until it succeeds. Tests running at the same
# time use different BASEs. If no port works, that is a failure, and the
# test ends.
start_on_free_port() {
    local base=$1 count=$2 try p i busy
    shift 2
    for try in 0 1 2 3 4 5 6 7 8 9; do
        p=$((base + ($$ + try * 997) % 10000))
        busy=""
        for ((i = 0; i < count; i++)); do
            port_busy $((p + i)) && busy=yes
        done
        [ -z "$busy" ] || continue
        port=$p
        "$@" && return 0
        prosody_stop
        rm -f "$dir/prosody.err"
    done
    port=""
    bad "Prosody did not start on any port"
    cat "$tmp/prosody-start.err"
    finish
    exit 1
}

# slix_check NAME SECONDS SCRIPT ARGS...: one check, that tests/SCRIPT (a
# slixmpp client, run by $py) succeeds within SECONDS. A pass is named with
# NAME and the script's last line (its summary); a failure is followed by
# all its output, indented, and status 1. The output stays in
# $tmp/slix.log until the next call.
slix_check() {
    local name=$1 seconds=$2 script=$3 log="$tmp/slix.log"
    shift 3
    if timeout "$seconds" "$py" "$src/tests/$script" "$@" > "$log" 2>&1; then
        ok "$name: $(tail -n 1 "$log")"
    else
        bad "$name:"
        sed 's/^/    /' "$log"
        return 1
    fi
}

# jstat FILE KEY: a number from a JSON stats file (KEY may be a path such
# as errors.connect), -1 if unreadable.
jstat() {
    "$py" -c 'import json, sys
try:
    v = json.load(open(sys.argv[1]))
    for k in sys.argv[2].split("."):
        v = v[k]
    print(int(v))
except Exception:
    print(-1)' "$1" "$2"
}

# kill_bot PID: SIGKILL a background "timeout ... xmppbots" and its child.
kill_bot() {
    local child
    for child in $(ps -o pid= --ppid "$1" 2> /dev/null); do
        kill -KILL "$child" 2> /dev/null
    done
    kill -KILL "$1" 2> /dev/null
    wait "$1" 2> /dev/null
}
