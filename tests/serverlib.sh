# shellcheck shell=bash
# Shared by the bash tests that run a private XMPP server on 127.0.0.1 and
# check it with slixmpp clients; sourced, and sources testlib.sh (so
# everything there is available too):
#   . "$(dirname "$0")/serverlib.sh"
# XB_SERVER picks the server: prosody (the default; tests/prosody.sh) or
# ejabberd (tests/ejabberd.sh). The test's first output line names it.
# Sets server (prosody or ejabberd), server_name (for messages),
# server_sh (its script), py (the Python with slixmpp), pw (every
# account's password), dir (the server's directory in $tmp; its
# certificate, the CA for clients, is $dir/certs/localhost.crt for both),
# server_logs (its log files, for show_tails) and, once started, port (and
# tls_port, if the test sets it before, for Prosody's direct TLS). The
# server is stopped on exit, after the test's own on_exit functions.
# server_start tls|plain       start it on $port (see start_on_free_port);
#                              XB_COMPONENT ("DOMAIN PORT SECRET[; ...]")
#                              adds external components (XEP-0114)
# server_stop, server_kill     stop it (SIGTERM, then SIGKILL), kill it
# server_user NAME PASSWORD, server_users PREFIX COUNT PASSWORD,
# server_has_user NAME         accounts on localhost
# server_need STATUS           the server is installed, else give_up

# shellcheck source=tests/testlib.sh
. "$(dirname "${BASH_SOURCE[0]}")/testlib.sh"

py=/usr/bin/python3
# No __pycache__ of tests/slixcommon.py left in the source tree.
export PYTHONDONTWRITEBYTECODE=1
# shellcheck disable=SC2034 # used by the tests
pw=secret-pw
port=""
tls_port=""
server=${XB_SERVER:-prosody}
# slix_echo_opts: what tests/slix_echo.py must be told about the server.
slix_echo_opts=()
# shellcheck disable=SC2034 # server_logs, slix_echo_opts: used by the tests
case "$server" in
prosody)
    server_name=Prosody
    dir="$tmp/prosody"
    server_logs=("$dir/prosody.err")
    ;;
ejabberd)
    server_name=ejabberd
    dir="$tmp/ejabberd"
    server_logs=("$dir/logs/error.log" "$dir/logs/console.out")
    # It delivers <message type='normal'> to the bot without the type
    # attribute (seen in the bot's --xml-trace: its codec leaves out the
    # default value), so the echo has none either.
    slix_echo_opts=(--normal-without-type)
    ;;
*) give_up 99 "XB_SERVER must be prosody or ejabberd, not '$server'" ;;
esac
server_sh="$src/tests/$server.sh"
# How many ports from $port on the test uses (start_on_free_port's COUNT):
# ejabberd's Erlang distribution and epmd take the two after them.
server_span=1
echo "# server: $server_name $(dpkg-query -W -f='${Version}' "$server" 2> /dev/null) (XB_SERVER=$server)"

# server_need STATUS: the server is installed, else give_up STATUS.
server_need() {
    case "$server" in
    prosody) need "$1" prosody prosodyctl ;;
    ejabberd)
        need "$1" erl epmd
        compgen -G '/usr/lib/*/ejabberd-[0-9]*/ebin/ejabberd.app' > /dev/null ||
            give_up "$1" "ejabberd is not installed (./dev deps installs it)"
        ;;
    esac
}

# need_slixmpp STATUS: $py can import slixmpp, else give_up STATUS.
need_slixmpp() {
    local hint=""
    [ "$1" -eq 77 ] || hint=" (./dev deps installs it)"
    "$py" -c 'import slixmpp' 2> /dev/null ||
        give_up "$1" "$py cannot import slixmpp$hint"
}

# Is something listening on this port of 127.0.0.1?
port_busy() { (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null; }

# server_start tls|plain: starts the server in $dir on $port (and
# Prosody's direct TLS on $tls_port if set), with the components of
# $XB_COMPONENT, bounded. Also a restart, on the same accounts. The
# XB_PROSODY_* and XB_EJABBERD_* variables of the scripts pass through.
server_start() {
    case "$server" in
    prosody)
        XB_PROSODY_COMPONENT=${XB_COMPONENT:-${XB_PROSODY_COMPONENT:-}} \
            timeout 60 bash "$server_sh" start "$dir" "$port" "$1" \
            ${tls_port:+"$tls_port"} > "$tmp/$server-start.err" 2>&1 &&
            ! grep -q "Failed to open server port" "$dir/prosody.err" 2> /dev/null
        ;;
    ejabberd)
        [ -z "$tls_port" ] || give_up 99 "direct TLS (tls_port) is Prosody's only here"
        XB_EJABBERD_COMPONENT=${XB_COMPONENT:-${XB_EJABBERD_COMPONENT:-}} \
            timeout 60 bash "$server_sh" start "$dir" "$port" "$1" \
            $((port + server_span)) $((port + server_span + 1)) \
            > "$tmp/$server-start.err" 2>&1
        ;;
    esac
}
server_stop() { bash "$server_sh" stop "$dir" > /dev/null 2>&1; }
on_exit server_stop
server_kill() { bash "$server_sh" kill "$dir" > /dev/null 2>&1; }
server_user() { bash "$server_sh" user "$dir" "$@"; }
server_users() { bash "$server_sh" users "$dir" "$@"; }
server_has_user() {
    case "$server" in
    prosody) [ -f "$dir/data/localhost/accounts/$1.dat" ] ;;
    ejabberd) bash "$server_sh" ctl "$dir" check_account "$1" localhost > /dev/null 2>&1 ;;
    esac
}

# start_on_free_port BASE COUNT START...: sets port to one of ten ports
# BASE + ($$ + k * 997) % 10000 (keep BASE + 10000 + COUNT below 32768,
# under the ephemeral range) that is free with the COUNT - 1 ports after
# it (and the server's own after those: server_span), and runs START
# there until it succeeds. Tests running at the same time use different
# BASEs. If no port works, that is a failure, and the test ends.
start_on_free_port() {
    local base=$1 count=$2 try p i busy all
    shift 2
    server_span=$count
    all=$count
    [ "$server" != ejabberd ] || all=$((count + 2))
    for try in 0 1 2 3 4 5 6 7 8 9; do
        p=$((base + ($$ + try * 997) % 10000))
        busy=""
        for ((i = 0; i < all; i++)); do
            port_busy $((p + i)) && busy=yes
        done
        [ -z "$busy" ] || continue
        port=$p
        "$@" && return 0
        server_stop
        # A fresh start: Prosody's error log; ejabberd's whole directory
        # (its spool belongs to the node name, taken from the port).
        case "$server" in
        prosody) rm -f "$dir/prosody.err" ;;
        ejabberd) rm -rf "$dir" ;;
        esac
    done
    port=""
    bad "$server_name did not start on any port"
    cat "$tmp/$server-start.err"
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
