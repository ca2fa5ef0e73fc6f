# shellcheck shell=bash
# For the tests of what only Prosody has (mod_bots, its shell, direct
# TLS, SRV): tests/serverlib.sh with XB_SERVER=prosody whatever the
# environment says, and the names those tests use; sourced:
#   . "$(dirname "$0")/prosodylib.sh"
# Sets prosody_sh (tests/prosody.sh); prosody_start tls|plain and
# prosody_stop are server_start and server_stop.

XB_SERVER=prosody
# shellcheck source=tests/serverlib.sh
. "$(dirname "${BASH_SOURCE[0]}")/serverlib.sh"
# shellcheck disable=SC2034 # used by the tests
prosody_sh=$server_sh
prosody_start() { server_start "$@"; }
prosody_stop() { server_stop; }
