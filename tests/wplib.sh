# shellcheck shell=bash
# shellcheck disable=SC2154 # py, src, tmp, port, pw, gw: set by serverlib.sh and the test
# What the web presence gateway's tests share (sourced after serverlib.sh,
# with $port, $pw and $gw set): a slixmpp user (tests/wp_user.py) in the
# background, and reading its JSON lines.

user_pid="" user_pids=""

# user_start NAME USER STEP...: tests/wp_user.py as USER@localhost in the
# background, with the gateway at $to (default $gw), STARTTLS checked
# against $ca if set, its JSON lines in $tmp/NAME.out, its PID in
# user_pid (and user_pids, for the test's cleanup).
user_start() {
    local name=$1 user=$2 tls=()
    shift 2
    [ -z "${ca:-}" ] || tls=(--cafile "$ca")
    timeout 330 "$py" "$src/tests/wp_user.py" --host 127.0.0.1 --port "$port" \
        "${tls[@]}" --jid "$user@localhost" --password "$pw" --gateway "${to:-$gw}" \
        --timeout 300 "$@" > "$tmp/$name.out" 2> "$tmp/$name.err" &
    user_pid=$!
    user_pids="$user_pids $user_pid"
}

# user_end SECONDS [PID]: waits (bounded) for the user PID (default: the
# one started last) to end and returns its status (124 if it had to be
# killed).
user_end() {
    local pid=${2:-$user_pid}
    wait_until "$1" eval '! kill -0 "$pid" 2> /dev/null'
    if kill -0 "$pid" 2> /dev/null; then
        kill_bot "$pid"
        return 124
    fi
    wait "$pid"
}

# step NAME STEP KEY: KEY of STEP's JSON line in $tmp/NAME.out ("" if none;
# Python's spelling for booleans: True, False).
step() {
    "$py" -c 'import json, sys
for line in open(sys.argv[1]):
    try:
        d = json.loads(line)
    except ValueError:
        continue
    if isinstance(d, dict) and d.get("step") == sys.argv[2]:
        v = d.get(sys.argv[3])
        print("" if v is None else v)
        break' "$tmp/$1.out" "$2" "$3" 2> /dev/null
}
step_ok() { [ -n "$(step "$1" "$2" step)" ] && [ -z "$(step "$1" "$2" error)" ]; }
show_user() { sed 's/^/    /' "$tmp/$1.out" "$tmp/$1.err"; }
