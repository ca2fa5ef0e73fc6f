#!/bin/sh
# The xmppbots parse subcommand end to end: events printed for a recorded
# stream, exit status 1 with the condition on stderr for refused input,
# limits given as options, usage errors as status 2. $XB_WRAP may hold a
# wrapper such as valgrind.
set -u
# shellcheck source=tests/testlib.sh
. "$(dirname "$0")/testlib.sh"

# expect STATUS STDERR-PATTERN INPUT [ARGS...]
expect() {
    want=$1 pattern=$2 input=$3
    shift 3
    printf '%b' "$input" > "$tmp/in"
    ${XB_WRAP:-} "$bin" parse "$@" "$tmp/in" > "$tmp/out" 2> "$tmp/err"
    got=$?
    if [ "$got" -ne "$want" ]; then
        bad "status $got, want $want for: $input $*"; cat "$tmp/err"
    elif [ -n "$pattern" ] && ! grep -q -- "$pattern" "$tmp/err"; then
        bad "stderr lacks '$pattern' for: $input"; cat "$tmp/err"
    else
        ok
    fi
}

hdr="<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>"

# The recorded demo stream: one line per event, stanzas re-serialized.
if ${XB_WRAP:-} "$bin" parse "$src/doc/demo-stream.xml" > "$tmp/demo" 2> "$tmp/err"; then
    lines=$(wc -l < "$tmp/demo")
    if [ "$lines" -eq 8 ] &&
       head -n 1 "$tmp/demo" | grep -q "^stream-open from='localhost' id='c2s-5f3a9e' version='1.0' xml:lang='en' xmlns='jabber:client'$" &&
       grep -q "^<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>" "$tmp/demo" &&
       grep -q "<body>Hi! 5 &lt; 7 &amp;&amp; 'quotes' \"too\" 😀</body>" "$tmp/demo" &&
       tail -n 1 "$tmp/demo" | grep -q '^stream-close$'; then
        ok
    else
        bad "demo stream output"; cat "$tmp/demo"
    fi
else
    bad "demo stream refused"; cat "$tmp/err"
fi

# Re-parsing the printed stanzas inside a stream gives the same output.
{ echo "$hdr"; sed -n '2,7p' "$tmp/demo"; echo '</stream:stream>'; } > "$tmp/again"
"$bin" parse "$tmp/again" | sed -n '2,7p' > "$tmp/again.out"
sed -n '2,7p' "$tmp/demo" > "$tmp/demo.mid"
if cmp -s "$tmp/again.out" "$tmp/demo.mid"; then ok; else bad "round trip"; fi

# Stdin works the same as a file.
if printf '%s<presence/></stream:stream>' "$hdr" | ${XB_WRAP:-} "$bin" parse | grep -q '^<presence/>$'; then
    ok
else
    bad "stdin"
fi

expect 0 "" "$hdr<message><body>x</body></message>"
expect 1 "not-well-formed" "$hdr<message><body>x</message>"
expect 1 "not-well-formed" "$hdr<message><body>\\0300\\0200</body></message>"
expect 1 "restricted-xml" "$hdr<!-- comment -->"
expect 1 "restricted-xml" "$hdr<?pi data?>"
expect 1 "restricted-xml" "<!DOCTYPE stream [<!ENTITY x 'y'>]>$hdr"
expect 1 "restricted-xml" "$hdr<message><body>&nbsp;</body></message>"
expect 1 "invalid-namespace" "<stream xmlns='jabber:client'>"
expect 1 "unsupported-encoding" "<?xml version='1.0' encoding='ISO-8859-1'?>$hdr"
expect 1 "bad-format" "${hdr}text"
expect 1 "policy-violation" "$hdr<a><b><c><d/></c></b></a>" --max-depth 3
expect 0 "" "$hdr<a><b><c/></b></a>" --max-depth 3
expect 1 "policy-violation" "$hdr<message><body>0123456789</body></message>" --max-stanza-bytes 30
expect 1 "policy-violation" "$hdr<m a='1' b='2' c='3'/>" --max-attrs 2
expect 1 "bytes after the end" "$hdr</stream:stream><presence/>" --chunk 1
expect 2 "needs a number" "$hdr" --max-depth zero
expect 2 "" "$hdr" --no-such-option
if ${XB_WRAP:-} "$bin" parse "$tmp/does-not-exist" 2>&1 >/dev/null | grep -q 'cannot open'; then
    ok
else
    bad "missing file"
fi

if ${XB_WRAP:-} "$bin" --version | grep -q '^xmppbots '; then ok; else bad "--version"; fi
if ${XB_WRAP:-} "$bin" parse --help | grep -q -- '--max-stanza-bytes'; then ok; else bad "parse --help"; fi

finish
