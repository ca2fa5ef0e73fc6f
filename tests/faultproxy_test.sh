#!/usr/bin/env bash
# tests/faultproxy.py between a Python client and a Python echo server, all
# on 127.0.0.1: bytes pass unchanged both ways (1 MB too); each cut mode
# does to both sides what it says (rst: a reset, close: EOF, half: EOF
# while the proxy still reads, blackhole: silence until release), the
# oldest first; --random-cut cuts within its window, the same way for the
# same seed; --max-conns, the stats, --lifetime, quit, SIGTERM and bad
# arguments. Needs only /usr/bin/python3 and timeout.
set -u
# shellcheck source=tests/testlib.sh
. "$(dirname "$0")/testlib.sh"

py=/usr/bin/python3
export PYTHONDONTWRITEBYTECODE=1
proxy=("$py" "$src/tests/faultproxy.py")
need 99 timeout
[ -x "$py" ] || give_up 99 "$py not found"

# The PIDs of the servers started in the background; on exit, those still
# running (still our children: a PID may have been reused since) are
# stopped, SIGKILL after 5 s.
pids=""
mine() { [ "$(ps -o ppid= -p "$1" 2> /dev/null | tr -d ' ')" = "$$" ]; }
stop_all() {
    local pid n
    for pid in $pids; do
        mine "$pid" && kill -TERM "$pid"
    done
    for pid in $pids; do
        n=25
        while [ "$n" -gt 0 ] && mine "$pid"; do
            sleep 0.2
            n=$((n - 1))
        done
        mine "$pid" && kill -KILL "$pid"
    done
    show_tails 20 "$tmp"/*.err
}
on_exit stop_all

# The echo server: prints its port; logs "+" per connection accepted and
# "-" per connection closed, so that the test sees the server side.
cat > "$tmp/echo.py" << 'EOF'
import asyncio, sys
log = open(sys.argv[1], "a", buffering=1)
async def echo(reader, writer):
    log.write("+\n")
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    writer.close()
    log.write("-\n")
async def main():
    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await asyncio.sleep(float(sys.argv[2]))
asyncio.run(main())
EOF

# The client. "steps PORT CONTROL STEP..." runs steps on connections to
# PORT; each step is checked, and the first failure ends it (status 1):
#   connect             a new connection, the current one from now on
#   use:K               the K-th connection (0 is the first) is current
#   ping                "ping" sent and echoed back
#   ctl:COMMAND=N       COMMAND to CONTROL answers {"...": N} (or, with
#                       N "error", an error)
#   stat:KEY=N          within 10 s, the stats have KEY (a.b: ["a"]["b"]) N
#   server:N            within 10 s, the echo server has N connections open
#   expect:WHAT:SECS    within SECS, recv gives a reset, eof, data, or
#                       nothing (silence)
#   send:ok|fails       sends that all succeed for 0.5 s, or one fails
#                       within 5 s (the peer answered with a reset)
#   since:MIN:MAX       the current connection was opened MIN to MAX s ago
# Its last line is "connections C echoed B". "echo PORT SIZE": SIZE random
# bytes and EOF sent, the same bytes and EOF expected back. "ctl CONTROL
# COMMAND" prints the answer. "burst PORT CONTROL N" opens N connections,
# holds them until the stats count N cuts, and prints the cuts.
cat > "$tmp/client.py" << 'EOF'
import json, os, socket, sys, threading, time

def connect(port):
    return socket.create_connection(("127.0.0.1", int(port)), timeout=10)

def ctl(port, command):
    with connect(port) as c:
        c.sendall(command.encode() + b"\n")
        return json.loads(c.makefile().readline())

def recv_exact(s, n):
    data = b""
    while len(data) < n and (chunk := s.recv(n - len(data))):
        data += chunk
    return data

def outcome(s, seconds):
    s.settimeout(seconds)
    try:
        return "data" if s.recv(4096) else "eof"
    except ConnectionResetError:
        return "reset"
    except TimeoutError:
        return "silence"

def sends(s, fails):
    end = time.monotonic() + (5 if fails else 0.5)
    while time.monotonic() < end:
        try:
            s.sendall(b"more")
        except OSError:
            return fails
        time.sleep(0.1)
    return not fails

def poll(get, want, seconds=10):
    end = time.monotonic() + seconds
    while (got := get()) != want and time.monotonic() < end:
        time.sleep(0.1)
    return got

def stat(control, key):
    value = ctl(control, "stats")
    for k in key.split("."):
        value = value[k]
    return value

def server_open():
    log = open(os.environ["SERVER_LOG"]).read()
    return log.count("+") - log.count("-")

def steps(port, control, todo):
    conns, opened, cur, echoed = [], [], -1, 0
    for step in todo:
        name, _, arg = step.partition(":")
        s, ok, got = conns[cur] if conns else None, True, None
        if name == "connect":
            opened.append(time.monotonic())
            conns.append(connect(port))
            cur = len(conns) - 1
        elif name == "use":
            cur = int(arg)
        elif name == "ping":
            s.sendall(b"ping")
            got = recv_exact(s, 4)
            ok = got == b"ping"
            echoed += 4
        elif name == "ctl":
            command, _, want = arg.partition("=")
            got = ctl(control, command)
            ok = list(got) == ["error"] if want == "error" else \
                list(got.values()) == [int(want)]
        elif name == "stat":
            key, _, want = arg.partition("=")
            got = poll(lambda: stat(control, key), int(want))
            ok = got == int(want)
        elif name == "server":
            got = poll(server_open, int(arg))
            ok = got == int(arg)
        elif name == "expect":
            what, seconds = arg.split(":")
            got = outcome(s, float(seconds))
            ok = got == what
        elif name == "send":
            ok = sends(s, arg == "fails")
        elif name == "since":
            low, high = map(float, arg.split(":"))
            got = round(time.monotonic() - opened[cur], 2)
            ok = low <= got <= high
        else:
            ok, got = False, "unknown step"
        if not ok:
            sys.exit(f"FAIL at {step}: got {got}")
    print(f"connections {len(conns)} echoed {echoed}")

def echo(port, size):
    payload = os.urandom(size)
    with connect(port) as s:
        def send():
            s.sendall(payload)
            s.shutdown(socket.SHUT_WR)
        writer = threading.Thread(target=send)
        writer.start()
        data = recv_exact(s, size + 1)  # one more: EOF must come instead
        writer.join()
    if data != payload:
        sys.exit(f"FAIL: {len(data)} bytes back of {size}, or not the same")
    print(f"connections 1 echoed {size}")

def burst(port, control, n):
    conns = [connect(port) for _ in range(n)]
    cuts = poll(lambda: sum(stat(control, "cuts").values()), n)
    if cuts != n:
        sys.exit(f"FAIL: {cuts} cuts of {n} connections")
    print(json.dumps(stat(control, "cuts"), sort_keys=True))
    for s in conns:
        s.close()

cmd, args = sys.argv[1], sys.argv[2:]
if cmd == "steps":
    steps(args[0], args[1], args[2:])
elif cmd == "echo":
    echo(args[0], int(args[1]))
elif cmd == "ctl":
    print(json.dumps(ctl(args[0], args[1])))
elif cmd == "burst":
    burst(args[0], args[1], int(args[2]))
EOF
export SERVER_LOG="$tmp/server.log"

# client ARGS...: the client, bounded, its output in $tmp/client.out.
client() { timeout 60 "$py" "$tmp/client.py" "$@" > "$tmp/client.out" 2>&1; }
# client_check NAME ARGS...: a check that the client succeeds; on failure
# its output is shown.
client_check() {
    local name=$1
    shift
    if client "$@"; then
        ok "$name"
    else
        bad "$name:"
        sed 's/^/    /' "$tmp/client.out"
        return 1
    fi
}

# jget FILE KEY: a value from the JSON line in FILE, "" if none.
jget() {
    "$py" -c 'import json, sys
try:
    print(json.loads(open(sys.argv[1]).readline())[sys.argv[2]])
except Exception:
    print("")' "$1" "$2"
}

# wait_gone SECONDS PID: PID ended within SECONDS; its status in $rc.
wait_gone() {
    local n=$(($1 * 5))
    rc=none
    while [ "$n" -gt 0 ] && kill -0 "$2" 2> /dev/null; do
        sleep 0.2
        n=$((n - 1))
    done
    kill -0 "$2" 2> /dev/null && return 1
    wait "$2"
    rc=$?
}

# --- the echo server ---------------------------------------------------------
"$py" "$tmp/echo.py" "$SERVER_LOG" 120 > "$tmp/echo.port" 2> "$tmp/echo.err" &
pids="$pids $!"
has_port() { [ -s "$tmp/echo.port" ]; }
wait_until 10 has_port || { bad "echo server did not start"; finish; exit 1; }
eport=$(cat "$tmp/echo.port")

# start_proxy NAME ARGS...: a proxy to the echo server with ARGS, its
# ready line in $tmp/NAME.out; sets lport, cport and ppid.
start_proxy() {
    local name=$1
    shift
    "${proxy[@]}" --target "$eport" "$@" > "$tmp/$name.out" 2> "$tmp/$name.err" &
    ppid=$!
    pids="$pids $ppid"
    if ! wait_until 10 grep -q '"ready": true' "$tmp/$name.out"; then
        bad "$name proxy: no ready line within 10 s"
        finish
        exit 1
    fi
    lport=$(jget "$tmp/$name.out" listen)
    cport=$(jget "$tmp/$name.out" control)
}

# --- pass-through and each cut mode -------------------------------------------
start_proxy main --listen 0 --control 0 --lifetime 100
main_pid=$ppid
ready_line_ok() {
    [ "$lport" -gt 0 ] && [ "$cport" -gt 0 ] &&
        [ "$(jget "$tmp/main.out" pid)" = "$ppid" ]
}
check "ready line with the ports chosen and the pid" ready_line_ok
only_loopback() {
    "$py" -c 'import socket, sys
try:
    socket.create_connection(("127.0.0.2", int(sys.argv[1])), timeout=5)
except ConnectionRefusedError:
    sys.exit(0)
sys.exit(1)' "$lport"
}
check "listens on 127.0.0.1 only (127.0.0.2 refused)" only_loopback

# through NAME CLIENT-ARGS...: client_check through the main proxy; adds
# up the connections made and the bytes echoed.
conns=0 echoed=0
through() {
    local c b
    client_check "$@" || return
    read -r _ c _ b < <(tail -n 1 "$tmp/client.out")
    conns=$((conns + c)) echoed=$((echoed + b))
}

through "5 bytes echoed unchanged" echo "$lport" 5
through "1 MB echoed unchanged, and EOF passed on both ways" echo "$lport" 1048576
through "cut rst: the client gets a reset, the server EOF" \
    steps "$lport" "$cport" connect ping "ctl:cut rst=1" expect:reset:5 server:0
through "cut close: the client gets EOF (a reset if it sends), the server EOF" \
    steps "$lport" "$cport" connect ping "ctl:cut close 1=1" expect:eof:5 \
    server:0 send:fails
through "cut half: the client gets EOF but can still send, the server EOF" \
    steps "$lport" "$cport" connect ping "ctl:cut half=1" expect:eof:5 \
    server:0 stat:held=1 send:ok stat:held=1
through "blackhole: silence for the client, both sides open until release" \
    steps "$lport" "$cport" connect ping "ctl:cut blackhole all=1" \
    expect:silence:1 send:ok expect:silence:0.5 server:1 stat:held=1 \
    stat:open=0 "ctl:release=1" expect:eof:5 server:0 stat:held=0
through "cut N cuts the N oldest, all the rest" \
    steps "$lport" "$cport" connect ping connect ping connect ping \
    "ctl:cut close 2=2" use:0 expect:eof:5 use:1 expect:eof:5 use:2 ping \
    "ctl:cut rst all=1" expect:reset:5 "ctl:cut close=0" "ctl:cut rst 0=0"
through "bad commands are answered with an error" \
    steps "$lport" "$cport" "ctl:cut=error" "ctl:cut rst x=error" \
    "ctl:cut rst -1=error" "ctl:cut snip=error" "ctl:stats now=error" \
    "ctl:=error" "ctl:release 1=error"

client_check "stats: $conns accepted, $echoed bytes each way, the cuts made" \
    steps "$lport" "$cport" "stat:accepted=$conns" "stat:bytes_up=$echoed" \
    "stat:bytes_down=$echoed" stat:cuts.rst=2 stat:cuts.close=3 \
    stat:cuts.half=1 stat:cuts.blackhole=1 stat:open=0 stat:held=0 \
    stat:refused=0 stat:failed=0
check "quit is answered" client ctl "$cport" quit
check "... and the proxy exits" wait_gone 5 "$main_pid"
check "... with status 0 (got $rc)" [ "$rc" -eq 0 ]
check "nothing on its stderr" [ ! -s "$tmp/main.err" ]

# --- random cuts --------------------------------------------------------------
start_proxy random --listen 0 --control 0 --lifetime 60 --random-cut 0.2-0.5 \
    --random-mode close
client_check "--random-cut 0.2-0.5: EOF 0.2 s or more after connecting" \
    steps "$lport" "$cport" connect expect:eof:10 since:0.2:10 stat:cuts.close=1
# The same seed, the same cuts (drawn in the order of acceptance).
for run in 1 2; do
    start_proxy "mixed$run" --listen 0 --control 0 --lifetime 60 \
        --random-cut 0.05-0.3 --random-mode mixed --seed 42
    client_check "--random-mode mixed, run $run: 12 connections, 12 cuts" \
        burst "$lport" "$cport" 12 && cp "$tmp/client.out" "$tmp/cuts$run"
done
check "--seed 42 is in the ready line" [ "$(jget "$tmp/mixed1.out" seed)" = 42 ]
check "the same seed, the same cuts: $(cat "$tmp/cuts1")" \
    cmp -s "$tmp/cuts1" "$tmp/cuts2"
modes_used() { grep -o ': [1-9]' "$tmp/cuts1" | wc -l; }
check "mixed used several modes" [ "$(modes_used)" -ge 2 ]

# --- limits and failures --------------------------------------------------------
start_proxy max --listen 0 --control 0 --lifetime 60 --max-conns 2
client_check "--max-conns 2: a third connection is closed at once" \
    steps "$lport" "$cport" connect ping connect ping connect expect:eof:5 \
    stat:refused=1 use:0 ping
client_check "--max-conns 2: held connections count too, until released" \
    steps "$lport" "$cport" stat:open=0 connect ping connect ping \
    "ctl:cut blackhole 1=1" connect expect:eof:5 stat:refused=2 \
    "ctl:release=1" stat:held=0 connect ping
# Port 1: nothing listens there (this --target overrides start_proxy's).
start_proxy nowhere --listen 0 --control 0 --lifetime 60 --target 1
client_check "a target that refuses: the client gets EOF, counted as failed" \
    steps "$lport" "$cport" connect expect:eof:5 stat:failed=1

timeout 20 "${proxy[@]}" --listen 0 --target "$eport" --lifetime 1 \
    > "$tmp/life.out" 2> "$tmp/life.err"
rc=$?
check "--lifetime 1: exits by itself, status 0 (got $rc)" [ "$rc" -eq 0 ]
check "... after its ready line, with no control port" \
    [ "$(jget "$tmp/life.out" control)" = None ]

for sig in TERM INT; do
    start_proxy "sig$sig" --listen 0 --lifetime 60
    kill -"$sig" "$ppid"
    check "SIG$sig: exits" wait_gone 5 "$ppid"
    check "SIG$sig: ... with status 0 (got $rc)" [ "$rc" -eq 0 ]
done

# --- bad arguments ------------------------------------------------------------
# usage_error ARGS...: exit status 2 and one line on stderr.
usage_error() {
    timeout 10 "${proxy[@]}" "$@" > /dev/null 2> "$tmp/usage.err"
    rc=$?
    if [ "$rc" -eq 2 ] && [ "$(wc -l < "$tmp/usage.err")" -eq 1 ]; then
        ok "bad arguments ($*): $(cat "$tmp/usage.err")"
    else
        bad "bad arguments ($*): status $rc, want 2 and one line:"
        sed 's/^/    /' "$tmp/usage.err"
    fi
}
usage_error
usage_error --listen 0
usage_error --listen 0 --target 70000
usage_error --listen x --target 5222
usage_error --listen 0 --target 5222 --random-cut 5-1
usage_error --listen 0 --target 5222 --random-cut 1
usage_error --listen 0 --target 5222 --random-cut 1-2 --random-mode snip
usage_error --listen 0 --target 5222 --random-mode rst
usage_error --listen 0 --target 5222 --lifetime 0
usage_error --listen 0 --target 5222 --max-conns 0
usage_error --listen 0 --target 5222 --seed -1
usage_error --listen 0 --target 5222 --bogus
timeout 10 "${proxy[@]}" --listen "$eport" --target "$eport" \
    > /dev/null 2> "$tmp/busy.err"
rc=$?
one_line_status_1() { [ "$rc" -eq 1 ] && [ "$(wc -l < "$tmp/busy.err")" -eq 1 ]; }
check "a port in use: status 1 (got $rc), one line: $(cat "$tmp/busy.err")" \
    one_line_status_1

finish
