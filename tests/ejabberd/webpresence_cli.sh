#!/bin/sh
# tests/webpresence_cli.sh against ejabberd (tests/serverlib.sh): an entry of
# its own in the logs, run by make check-ejabberd.
XB_SERVER=ejabberd exec bash "$(dirname "$0")/../webpresence_cli.sh" "$@"
