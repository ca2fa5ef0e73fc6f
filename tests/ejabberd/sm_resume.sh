#!/bin/sh
# tests/sm_resume.sh against ejabberd (tests/serverlib.sh): an entry of
# its own in the logs, run by make check-ejabberd.
XB_SERVER=ejabberd exec bash "$(dirname "$0")/../sm_resume.sh" "$@"
