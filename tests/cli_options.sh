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

# Every kind of the registry is a command: xmppbots kinds lists them as
# JSON, from the kinds' own tables; each is in xmppbots --help, and its
# help shows every one of its options.
py=/usr/bin/python3
"$bin" kinds > "$tmp/kinds.json" || bad "xmppbots kinds failed"
# Lines "KIND OPTION" (OPTION "-" for a kind without options).
"$py" -c 'import json, sys
for k in json.load(open(sys.argv[1]))["kinds"]:
    for o in k["options"] or [{"name": "-"}]:
        print(k["kind"], o["name"])' "$tmp/kinds.json" > "$tmp/options" ||
    bad "xmppbots kinds is not the JSON expected"
# The kinds that are a service at a domain (XB_KIND_SERVICE).
"$py" -c 'import json, sys
for k in json.load(open(sys.argv[1]))["kinds"]:
    if k["service"]:
        print(k["kind"])' "$tmp/kinds.json" > "$tmp/services" ||
    bad "xmppbots kinds does not say which kinds are services"
kind_names=$(cut -d' ' -f1 "$tmp/options" | uniq)
check "xmppbots kinds lists echo, jumper, load and webpresence" \
    [ "$(echo $kind_names)" = "echo jumper load webpresence" ]
"$bin" --help > "$tmp/main-help"
for cmd in $kind_names; do
    expect 0 "Usage: xmppbots $cmd" "$cmd" --help
    check "xmppbots --help lists $cmd" grep -q "^  $cmd " "$tmp/main-help"
    "$bin" "$cmd" --help > "$tmp/help"
    for o in $(grep "^$cmd " "$tmp/options" | cut -d' ' -f2); do
        [ "$o" = - ] && continue
        o=$(echo "$o" | tr _ -)
        check "$cmd --help shows --$o" grep -q -- "--$o " "$tmp/help"
    done
    if grep -qx "$cmd" "$tmp/services"; then
        expect 2 "bots are a service at a domain: they need --component" "$cmd"
    else
        expect 2 "jid is required" "$cmd" --password x
    fi
    expect 2 "see 'xmppbots $cmd --help'" "$cmd" --no-such-option
done
expect 0 "hops between MUC rooms" --help
expect 2 "unknown command" dance
expect 2 "password or --password-file is required" echo --jid a@b
expect 2 "needs a JID pattern with %d" echo --jid a@b -p x --count 3
expect 2 "takes one %d" echo --jid 'a%s@b' -p x
expect 2 "takes one %d" echo --jid 'a%d%d@b' -p x --count 2
expect 2 "'required', 'starttls', 'direct' or 'none'" echo --jid a@b -p x --tls maybe
expect 2 "whole number from 1 to 65535" echo --jid a@b -p x --port 70000
# --host: a list of HOST[:PORT], an IPv6 address with a port in brackets.
expect 2 "'a:0': the port must be 1 to 65535" echo --jid a@b -p x --host a:0
expect 2 "'a:70000': the port must be" echo --jid a@b -p x --host a,a:70000
expect 2 "'b:5x': the port must be" echo --jid a@b -p x --host b:5x
expect 2 "'': no server name" echo --jid a@b -p x --host a,
expect 2 "'\[::1': a bracketed address is" echo --jid a@b -p x --host '[::1'
expect 2 "'\[::1\]5': a bracketed address is" echo --jid a@b -p x --host '[::1]5'
expect 2 "'a\"b' is not a host name or address" echo --jid a@b -p x --host 'a"b:5'
expect 2 "at most 32 servers" echo --jid a@b -p x \
    --host "$(printf 'h%d,' $(seq 1 32))h33"
expect 2 "a range like 5-15" jumper --jid a@b -p x --interval 9-3
expect 2 "phrases needs a range like 5-9" jumper --jid a@b -p x --phrases 0-2
expect 2 "to is required" load --jid a@b -p x
expect 2 "is not a JID" load --jid a@b -p x --to 'bad@'
expect 2 "muc 'a@b' is not a MUC service domain" jumper --jid a@b -p x --muc a@b
expect 2 "unrecognized option '--rooms'" echo --jid a@b -p x --rooms 3
expect 2 "whole number from 1 to 100000000, not '1e3'" jumper --jid a@b -p x --rooms 1e3
expect 1 "has no lines to read" jumper --jid a@b -p x --phrase-list "$tmp/none"
expect 2 "invalid JID" echo --jid '@b' -p x
expect 1 "cannot read" echo --jid a@b --password-file "$tmp/none"

# Web pages and storage (the kind's hooks and flags decide, not its name).
comp="--component p.localhost --secret s"
expect 2 "echo bots have no web pages" echo --jid a@b -p x --http 127.0.0.1:8080
expect 2 "--http ADDR:PORT is required" webpresence $comp
expect 2 "an IPv6 one in brackets" webpresence $comp --http ::1:8080
expect 2 "not '127.0.0.1:0'" webpresence $comp --http 127.0.0.1:0
expect 2 "not 'localhost:8080'" webpresence $comp --http localhost:8080
expect 2 "an http:// or https:// address" webpresence $comp --http 127.0.0.1:8080 --http-url 'http://a b/'
expect 2 "--http-url needs --http" echo --jid a@p.localhost $comp --http-url http://x/
expect 2 "--db is for component bots" echo --jid a@b -p x --db "$tmp/db"
expect 2 "whole number from 0 to 3600" webpresence $comp --http 127.0.0.1:8080 --refresh -1

# A config file gives the same options; the command line wins.
printf '# comment\ntls = maybe\n' > "$tmp/bad.conf"
expect 2 "'direct' or 'none'" echo --config "$tmp/bad.conf" --jid a@b -p x
printf 'jid = a@b\npassword = x\ncount = 2\n' > "$tmp/count.conf"
expect 2 "needs a JID pattern" echo --config "$tmp/count.conf"
expect 2 "port" echo --config "$tmp/count.conf" --count 1 --port 0
# Several config files add up, in order (the last word wins).
printf 'jid = a@b\npassword = x\ntls = none\n' > "$tmp/one.conf"
printf 'count = 3\n' > "$tmp/two.conf"
expect 2 "needs a JID pattern" echo --config "$tmp/one.conf" --config "$tmp/two.conf"
expect 2 "at most 4294967 seconds" echo --jid a@b -p x --keepalive 5000000
printf 'not an option line\n' > "$tmp/junk.conf"
expect 2 "is not 'option = value'" echo --config "$tmp/junk.conf"

finish
