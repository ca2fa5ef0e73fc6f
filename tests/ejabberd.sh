#!/usr/bin/env bash
# A private ejabberd for tests, the twin of tests/prosody.sh: its own
# directory, config, self-signed certificate, node, cookie, epmd and ports
# on 127.0.0.1, users and MUC. Debian's ejabberd 23.01, run with erl
# directly as the user running this (ejabberdctl, as root, su's to the
# ejabberd user and reads /etc/ejabberd's ejabberdctl.cfg, which resets
# the config path).
#   ejabberd.sh start DIR PORT [tls|plain] [DISTPORT [EPMDPORT]]
#                     configure and start, wait ready; tls: STARTTLS
#                     required, plain: offered, PLAIN allowed without it.
#                     The node's Erlang distribution listens on DISTPORT
#                     (default PORT + 100) and registers with a private
#                     epmd on EPMDPORT (default PORT + 200), both on
#                     127.0.0.1. A restart on the same DIR keeps the node
#                     name, cookie and spool (users, rooms).
#   ejabberd.sh users DIR PREFIX COUNT PASSWORD   create PREFIX0..COUNT-1
#   ejabberd.sh user DIR NAME PASSWORD            create one user
#   ejabberd.sh ctl DIR ARGS...     an ejabberdctl command run against the
#                                   node (e.g. get_room_occupants ROOM
#                                   conference.localhost): its output and
#                                   status
#   ejabberd.sh node DIR            the node's name (for join_cluster)
#   ejabberd.sh stop DIR            stop it (SIGTERM, then SIGKILL), and
#                                   its epmd once no node is registered
#   ejabberd.sh kill DIR            kill it at once (crash test); its epmd
#                                   stays for the restart
# Environment: XB_EJABBERD_COMPONENT ("DOMAIN PORT SECRET[; DOMAIN PORT
# SECRET...]": external components, XEP-0114, on 127.0.0.1, each on a
# port of its own, as ejabberd needs; XB_PROSODY_COMPONENT's format, where
# Prosody wants one port for all), XB_EJABBERD_EXTRA (extra
# top-level YAML lines), XB_EJABBERD_JOIN (the DIR of a running node: this
# one takes its cookie and epmd and joins its cluster; pass it again when
# restarting this node; when both were stopped, start the one stopped
# last first: Mnesia waits for the newest copy of its tables).
# Everything lives in DIR: ejabberd.yml, certs/ (localhost.crt is the CA
# for clients), spool/ (Mnesia), logs/ (ejabberd.log, error.log,
# console.out), node.env (name, ports), .erlang.cookie, the PIDs. Nothing
# is written elsewhere: HOME is DIR for every Erlang VM started here.
set -euo pipefail
# shellcheck source=tests/streamprobe.sh
. "$(dirname "${BASH_SOURCE[0]}")/streamprobe.sh"

die() { echo "ejabberd.sh: $*" >&2; exit 1; }

# alive PID: the process runs (a zombie, dead but not yet reaped by its
# new parent, does not count).
alive() {
    local stat
    stat=$(ps -o stat= -p "$1" 2>/dev/null) && [ "${stat#Z}" = "$stat" ]
}

# The ejabberd application directory (ebin, priv) of Debian's package.
ejabberd_app() {
    local d
    for d in /usr/lib/*/ejabberd-[0-9]*; do
        [ -f "$d/ebin/ejabberd.app" ] && { echo "$d"; return; }
    done
    die "no /usr/lib/*/ejabberd-*/ebin/ejabberd.app:" \
        "install the ejabberd package (./dev deps)"
}

# setting DIR KEY: one value from DIR/node.env ("" if none).
setting() { sed -n "s/^$2=//p" "$1/node.env" 2>/dev/null || true; }

# load DIR: the node's settings (node, dist_port, epmd_port, epmd_dir)
# from DIR/node.env.
load() {
    [ -f "$1/node.env" ] || die "$1: no ejabberd started here (no node.env)"
    # shellcheck source=/dev/null
    . "$1/node.env"
}

# erl_env DIR: the environment of every Erlang VM for the node in DIR.
erl_env() {
    export HOME="$1" ERL_EPMD_ADDRESS=127.0.0.1 ERL_EPMD_PORT="$epmd_port" \
        ERL_LIBS="$1/lib" ERL_CRASH_DUMP="$1/logs/erl_crash.dump"
}

# helper DIR NAME ARGS...: a short-lived hidden Erlang node talking to the
# node in DIR (its own name, the node's cookie (HOME) and epmd, on
# 127.0.0.1).
helper() {
    local d=$1 name=$2
    shift 2
    (
        erl_env "$d"
        cd "$d"
        exec erl -sname "$name$$_$RANDOM@localhost" -start_epmd false \
            -hidden -noinput -noshell \
            -kernel inet_dist_use_interface '{127,0,0,1}' "$@"
    )
}

# epmd_names: the names registered with the node's epmd (none: nothing);
# fails if that epmd does not answer.
epmd_names() {
    local out
    out=$(ERL_EPMD_PORT=$epmd_port epmd -port "$epmd_port" -names 2>/dev/null) ||
        return 1
    case "$out" in *"up and running"*) ;; *) return 1 ;; esac
    printf '%s\n' "$out" | sed -n 's/^name \([^ ]*\) at port.*/\1/p'
}
epmd_alive() { epmd_names >/dev/null; }

# Our own epmd, in the foreground (its PID is known): erl never starts
# one (-start_epmd false), so that every epmd here is one we can stop.
start_epmd() {
    local d=$1
    if [ -f "$d/epmd.pid" ] && alive "$(cat "$d/epmd.pid")" &&
        epmd_alive; then
        return 0
    fi
    epmd -port "$epmd_port" -address 127.0.0.1 </dev/null \
        >"$d/logs/epmd.log" 2>&1 &
    echo $! >"$d/epmd.pid"
    for _ in $(seq 1 50); do
        epmd_alive && return 0
        alive "$(cat "$d/epmd.pid")" || break
        sleep 0.1
    done
    cat "$d/logs/epmd.log" >&2
    die "epmd did not start on 127.0.0.1:$epmd_port"
}

# stop_epmd: the epmd of this node (its own, or the one of the node it
# joined), once no node is registered there any more.
stop_epmd() {
    local pidfile="$epmd_dir/epmd.pid" names pid
    [ -f "$pidfile" ] || return 0
    pid=$(cat "$pidfile")
    if names=$(epmd_names) && [ -n "$names" ]; then
        return 0
    fi
    stop_pid "$pid" 2
    rm -f "$pidfile"
}

# stop_pid PID SECONDS: SIGTERM, SIGKILL if still alive after SECONDS
# (0: SIGKILL only), then wait (up to 5 s) until it is gone.
stop_pid() {
    local i
    [ "$2" -eq 0 ] || kill "$1" 2>/dev/null || true
    for ((i = 0; i < $2 * 10; i++)); do
        alive "$1" || break
        sleep 0.1
    done
    kill -9 "$1" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        alive "$1" || break
        sleep 0.1
    done
}

write_config() {
    local dir=$1 port=$2 mode=$3 require
    case "$mode" in
    tls) require=true ;;
    plain) require=false ;;
    *) die "mode must be tls or plain, not '$mode'" ;;
    esac
    mkdir -p "$dir/certs" "$dir/spool" "$dir/logs"
    if [ ! -f "$dir/certs/server.pem" ]; then
        openssl req -x509 -newkey rsa:2048 -nodes -days 3650 \
            -subj /CN=localhost \
            -addext subjectAltName=DNS:localhost,DNS:conference.localhost \
            -keyout "$dir/certs/localhost.key" \
            -out "$dir/certs/localhost.crt" 2>/dev/null
        chmod 600 "$dir/certs/localhost.key"
        # ejabberd wants the certificate and its key in one file.
        (umask 077 && cat "$dir/certs/localhost.crt" "$dir/certs/localhost.key" \
            >"$dir/certs/server.pem")
    fi
    # One ejabberd_service listener per component: ejabberd routes every
    # domain of a listener to each component connected to it, whatever
    # secret it gave (two domains on one port lose each other's stanzas).
    local component="" cports=" " entries entry cdomain cport csecret
    if [ -n "${XB_EJABBERD_COMPONENT:-}" ]; then
        IFS=';' read -r -a entries <<<"$XB_EJABBERD_COMPONENT"
        for entry in "${entries[@]}"; do
            read -r cdomain cport csecret <<<"$entry"
            [ -n "$csecret" ] ||
                die "XB_EJABBERD_COMPONENT: 'DOMAIN PORT SECRET', not '$entry'"
            case "$cports" in *" $cport "*)
                die "XB_EJABBERD_COMPONENT: port $cport twice: each component needs its own (ejabberd sends a listener's every domain to each component on it)" ;;
            esac
            cports+="$cport "
            component+="  - port: $cport
    ip: \"127.0.0.1\"
    module: ejabberd_service
    backlog: 1024
    hosts:
      \"$cdomain\": {password: \"$csecret\"}
"
        done
    fi
    # No shaper on a listener means no rate limit; max_user_sessions is
    # Debian's 10 otherwise; SCRAM-SHA-256 with hashed passwords, as
    # Prosody stores them; MUC rooms open at the first join, no history.
    cat >"$dir/ejabberd.yml" <<EOF
# Generated by tests/ejabberd.sh: a private server on 127.0.0.1:$port.
hosts: [localhost]
loglevel: info
log_rotate_count: 0
certfiles: ["$dir/certs/server.pem"]
auth_method: internal
auth_password_format: scram
auth_scram_hash: sha256
registration_timeout: infinity
shaper_rules:
  max_user_sessions: 10000
api_permissions:
  "console commands": {from: ejabberd_ctl, who: all, what: "*"}
listen:
  - port: $port
    ip: "127.0.0.1"
    module: ejabberd_c2s
    starttls: true
    starttls_required: $require
    max_stanza_size: 262144
    backlog: 1024
$component
modules:
  mod_disco: {}
  mod_ping: {}
  mod_roster: {}
  mod_stream_mgmt: {}
  mod_admin_extra: {}
  mod_muc:
    host: conference.localhost
    access_create: all
    history_size: 0
    max_users: 100000
    max_user_conferences: 100000
    default_room_options: {max_users: 100000}
  mod_muc_admin: {}
${XB_EJABBERD_EXTRA:-}
EOF
}

# wait_ready DIR PORT: the node is alive and its c2s port answers a stream
# header with its features (and the component port, if any, accepts).
wait_ready() {
    local dir=$1 port=$2 pid cport=""
    pid=$(cat "$dir/ejabberd.pid")
    if [ -n "${XB_EJABBERD_COMPONENT:-}" ]; then
        read -r _ cport _ <<<"${XB_EJABBERD_COMPONENT##*;}"
    fi
    for _ in $(seq 1 300); do
        alive "$pid" || break
        if stream_features_ready "$port" &&
            { [ -z "$cport" ] ||
                (exec 3<>"/dev/tcp/127.0.0.1/$cport") 2>/dev/null; }; then
            return 0
        fi
        sleep 0.1
    done
    tail -n 20 "$dir/logs/console.out" "$dir/logs/error.log" >&2 2>/dev/null || true
    return 1
}

# not_ready DIR PORT: stops what start started, and fails.
not_ready() {
    bash "$0" stop "$1"
    die "ejabberd on port $2 did not become ready (see $1/logs)"
}

# Joins the cluster of the node in $XB_EJABBERD_JOIN unless already in it.
join() {
    local dir=$1 port=$2 other
    other=$(bash "$0" node "$XB_EJABBERD_JOIN")
    if bash "$0" ctl "$dir" list_cluster 2>/dev/null | grep -qx "$other"; then
        return 0
    fi
    bash "$0" ctl "$dir" join_cluster "$other" >"$dir/logs/join.out" 2>&1 || {
        cat "$dir/logs/join.out" >&2
        bash "$0" stop "$dir"
        die "join_cluster $other failed"
    }
    # Joining restarts ejabberd's applications on this node.
    wait_ready "$dir" "$port" || not_ready "$dir" "$port"
}

start() {
    local dir=$1 port=$2 mode=${3:-tls} app
    local dist_port=${4:-$((port + 100))} want_epmd=${5:-$((port + 200))}
    app=$(ejabberd_app)
    need_tools erl epmd openssl
    if [ -f "$dir/ejabberd.pid" ] && alive "$(cat "$dir/ejabberd.pid")"; then
        die "$dir: ejabberd is already running (PID $(cat "$dir/ejabberd.pid"))"
    fi
    # Another server on a port would answer the readiness probe for us, or
    # take the node's place.
    for p in $port $dist_port; do
        if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            die "port $p is already in use"
        fi
    done
    mkdir -p "$dir/logs" "$dir/lib"
    ln -sfn "$app" "$dir/lib/$(basename "$app")"
    # The node name and cookie belong to the spool: kept across restarts.
    node=$(setting "$dir" node)
    [ -n "$node" ] || node="xb$port@localhost"
    epmd_dir=$dir epmd_port=$want_epmd
    if [ -n "${XB_EJABBERD_JOIN:-}" ]; then
        local jdir
        jdir=$(cd "$XB_EJABBERD_JOIN" && pwd)
        [ "$jdir" != "$dir" ] || die "XB_EJABBERD_JOIN names this node's own DIR"
        [ -f "$jdir/.erlang.cookie" ] || die "XB_EJABBERD_JOIN: no node in $jdir"
        epmd_port=$(setting "$jdir" epmd_port)
        epmd_dir=$(setting "$jdir" epmd_dir)
        rm -f "$dir/.erlang.cookie"
        cp "$jdir/.erlang.cookie" "$dir/.erlang.cookie"
    elif [ -f "$dir/epmd.pid" ] && alive "$(cat "$dir/epmd.pid")"; then
        # Still running since a kill: the restart registers there again.
        epmd_port=$(setting "$dir" epmd_port)
    fi
    # The cookie in a file only the owner may read, in HOME (DIR): not on
    # a command line, where any local user would see it (and could run
    # code in the node, as its user).
    if [ ! -f "$dir/.erlang.cookie" ]; then
        (umask 077 && head -c 18 /dev/urandom | base64 | tr '+/' 'xy' \
            >"$dir/.erlang.cookie")
    fi
    chmod 400 "$dir/.erlang.cookie"
    cat >"$dir/node.env" <<EOF
node=$node
dist_port=$dist_port
epmd_port=$epmd_port
epmd_dir=$epmd_dir
EOF
    write_config "$dir" "$port" "$mode"
    if [ "$epmd_dir" = "$dir" ]; then
        start_epmd "$dir"
    else
        epmd_alive || die "the epmd of $epmd_dir (port $epmd_port) does not answer"
    fi
    (
        erl_env "$dir"
        export EJABBERD_CONFIG_PATH="$dir/ejabberd.yml" \
            EJABBERD_LOG_PATH="$dir/logs/ejabberd.log"
        cd "$dir"
        exec erl -sname "$node" -start_epmd false \
            -noinput -noshell +K true +P 250000 \
            -kernel inet_dist_use_interface '{127,0,0,1}' \
            inet_dist_listen_min "$dist_port" inet_dist_listen_max "$dist_port" \
            -mnesia dir "\"$dir/spool\"" -s ejabberd \
            </dev/null >"$dir/logs/console.out" 2>&1
    ) &
    echo $! >"$dir/ejabberd.pid"
    wait_ready "$dir" "$port" || not_ready "$dir" "$port"
    [ -z "${XB_EJABBERD_JOIN:-}" ] || join "$dir" "$port"
}

need_tools() {
    local t
    for t in "$@"; do
        command -v "$t" >/dev/null || die "$t not found (./dev deps installs it)"
    done
}

# register DIR PREFIX COUNT PASSWORD, or DIR NAME "" PASSWORD: one VM,
# one RPC per user; fails unless every user was created.
register() {
    local d=$1
    load "$d"
    # shellcheck disable=SC2016  # Erlang, not shell
    helper "$d" reg -eval '
        [N, P, C, Pw] = init:get_plain_arguments(),
        Names = case C of
            "" -> [P];
            _ -> [P ++ integer_to_list(I) || I <- lists:seq(0, list_to_integer(C) - 1)]
        end,
        R = [{U, rpc:call(list_to_atom(N), ejabberd_auth, try_register,
                          [list_to_binary(U), <<"localhost">>, list_to_binary(Pw)])}
             || U <- Names],
        case [X || {_, V} = X <- R, V =/= ok] of
            [] -> halt(0);
            Bad -> io:format(standard_error, "~p~n", [lists:sublist(Bad, 5)]), halt(1)
        end.' -extra "$node" "$2" "$3" "$4"
}

cmd=${1:-}
case "$cmd" in
start)
    if [ $# -lt 3 ] || [ $# -gt 6 ]; then
        die "usage: start DIR PORT [tls|plain] [DISTPORT [EPMDPORT]]"
    fi
    dir=$(mkdir -p "$2" && cd "$2" && pwd)
    shift 2
    start "$dir" "$@"
    ;;
user)
    [ $# -eq 4 ] || die "usage: user DIR NAME PASSWORD"
    register "$2" "$3" "" "$4"
    ;;
users)
    [ $# -eq 5 ] || die "usage: users DIR PREFIX COUNT PASSWORD"
    register "$2" "$3" "$4" "$5"
    ;;
ctl)
    [ $# -ge 3 ] || die "usage: ctl DIR ARGS..."
    d=$2
    shift 2
    load "$d"
    helper "$d" ctl -s ejabberd_ctl -extra "$node" "$@"
    ;;
node)
    [ $# -eq 2 ] || die "usage: node DIR"
    load "$2"
    echo "$node"
    ;;
stop|kill)
    [ $# -eq 2 ] || die "usage: $cmd DIR"
    pidfile="$2/ejabberd.pid"
    [ -f "$2/node.env" ] || exit 0
    load "$2"
    if [ -f "$pidfile" ]; then
        # kill: SIGKILL at once (a crash), stop: 10 s to end cleanly.
        stop_pid "$(cat "$pidfile")" "$([ "$cmd" = kill ] && echo 0 || echo 10)"
        rm -f "$pidfile"
    fi
    [ "$cmd" = kill ] || stop_epmd
    ;;
*)
    # The comment at the top, up to the first line of code.
    awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"
    exit 2
    ;;
esac
