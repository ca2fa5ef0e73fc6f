#!/bin/sh
# The bot commands' option handling, with no server: usage errors exit 2
# with a one-line reason, a config file feeds the same options (and the
# command line overrides it), --help documents every command. $XB_WRAP may
# hold a wrapper such as valgrind.
set -u
# shellcheck source=tests/testlib.sh
. "$(dirname "$0")/testlib.sh"

# expect STATUS PATTERN ARGS...: exit status and a line of stderr+stdout.
expect() {
    want=$1 pattern=$2
    shift 2
    ${XB_WRAP:-} "$bin" "$@" > "$tmp/out" 2>&1
    got=$?
    if [ "$got" -ne "$want" ]; then
        bad "status $got, want $want: $*"; cat "$tmp/out"
    elif ! grep -q -- "$pattern" "$tmp/out"; then
        bad "no '$pattern' for: $*"; cat "$tmp/out"
    else
        ok
    fi
}

for cmd in echo jumper load; do
    expect 0 "Usage: xmppbots $cmd" "$cmd" --help
    expect 2 "jid is required" "$cmd" --password x
    expect 2 "see 'xmppbots $cmd --help'" "$cmd" --no-such-option
done
expect 0 "hop between MUC rooms" --help
expect 2 "unknown command" dance
expect 2 "password or --password-file is required" echo --jid a@b
expect 2 "needs a JID pattern with %d" echo --jid a@b -p x --count 3
expect 2 "takes one %d" echo --jid 'a%s@b' -p x
expect 2 "takes one %d" echo --jid 'a%d%d@b' -p x --count 2
expect 2 "'required' or 'none'" echo --jid a@b -p x --tls maybe
expect 2 "whole number from 1 to 65535" echo --jid a@b -p x --port 70000
expect 2 "a range like 5-15" jumper --jid a@b -p x --interval 9-3
expect 2 "at least 1 phrase" jumper --jid a@b -p x --phrases 0-2
expect 2 "to (the echo bot's JID) is required" load --jid a@b -p x
expect 2 "invalid JID" echo --jid '@b' -p x
expect 1 "cannot read" echo --jid a@b --password-file "$tmp/none"

# A config file gives the same options; the command line wins.
printf '# comment\ntls = maybe\n' > "$tmp/bad.conf"
expect 2 "'required' or 'none'" echo --config "$tmp/bad.conf" --jid a@b -p x
printf 'jid = a@b\npassword = x\ncount = 2\n' > "$tmp/count.conf"
expect 2 "needs a JID pattern" echo --config "$tmp/count.conf"
expect 2 "port" echo --config "$tmp/count.conf" --count 1 --port 0
printf 'not an option line\n' > "$tmp/junk.conf"
expect 2 "is not 'option = value'" echo --config "$tmp/junk.conf"

finish
