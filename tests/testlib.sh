# shellcheck shell=dash
# Shared by the shell tests, sourced: paths, a temporary directory removed
# on exit, pass/fail counters and the final "N passed, M failed" line that
# ./dev sums up. POSIX sh plus "local" (dash, bash and busybox have it), so
# that the /bin/sh tests can use it too.
#   . "$(dirname "$0")/testlib.sh"
# Sets src, build (the source and build trees, from make check's
# $top_srcdir and $top_builddir), bin (the CLI) and tmp (a fresh directory).
# on_exit FUNC adds a function to run on exit, before tmp is removed; the
# last added runs first. The test's last command should be finish.

# shellcheck disable=SC2034 # used by the tests that source this
{
    src=${top_srcdir:-.}
    build=${top_builddir:-.}
    bin="$build/cli/xmppbots"
}
pass=0 fail=0

# give_up STATUS REASON: the test cannot run. 77 is a skip (automake's
# SKIP), anything else (99) a hard error; either way the reason is shown.
give_up() {
    if [ "$1" -eq 77 ]; then
        echo "SKIP: $2"
    else
        echo "ERROR: $2"
    fi
    exit "$1"
}

# need STATUS COMMAND...: every COMMAND on $PATH, else give_up STATUS.
need() {
    local status=$1 tool hint=""
    shift
    [ "$status" -eq 77 ] || hint=" (./dev deps installs it)"
    for tool in "$@"; do
        command -v "$tool" > /dev/null || give_up "$status" "$tool not found$hint"
    done
}

# need_built TEST FILE: FILE from the build passes "test TEST FILE" (-f, -x).
need_built() {
    test "$1" "$2" || give_up 99 "$2 not built"
}

tmp=$(mktemp -d) || exit 99
exit_hooks=""
on_exit() { exit_hooks="$1 $exit_hooks"; }
run_exit_hooks() {
    local hook
    for hook in $exit_hooks; do
        "$hook"
    done
    rm -rf "$tmp"
}
trap run_exit_hooks EXIT
trap 'exit 130' INT TERM

# ok [NAME], bad NAME: one assertion passed or failed. A failure is always
# shown; a pass only when it is named.
ok() {
    pass=$((pass + 1))
    [ $# -eq 0 ] || echo "ok - $*"
}
bad() {
    fail=$((fail + 1))
    echo "FAIL - $*"
}

# check NAME COMMAND...: one assertion, that COMMAND succeeds.
check() {
    local name=$1
    shift
    if "$@"; then ok "$name"; else bad "$name"; fi
}

# wait_until SECONDS COMMAND...: poll COMMAND every 0.2 s until it succeeds.
wait_until() {
    local n=$(($1 * 5))
    shift
    while [ "$n" -gt 0 ]; do
        "$@" && return 0
        sleep 0.2
        n=$((n - 1))
    done
    "$@"
}

# show_tails LINES FILE...: after a failure, the end of each non-empty FILE.
show_tails() {
    local lines=$1 f
    shift
    [ "$fail" -ne 0 ] || return 0
    for f in "$@"; do
        [ -s "$f" ] || continue
        echo "--- tail of $f"
        tail -n "$lines" "$f"
    done
}

# finish: the summary line ./dev greps; succeeds only if nothing failed.
finish() {
    echo "$pass passed, $fail failed"
    [ "$fail" -eq 0 ]
}
