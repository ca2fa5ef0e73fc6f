# shellcheck shell=bash
# Sourced by tests/prosody.sh and tests/ejabberd.sh: when is a server
# ready for clients.
#   . "$(dirname "${BASH_SOURCE[0]}")/streamprobe.sh"

# stream_features_ready PORT: the c2s port of 127.0.0.1 answers a client
# stream header for localhost with its </stream:features>, within 3 s.
stream_features_ready() {
    # shellcheck disable=SC2016  # the inner script expands $tok itself
    timeout 3 bash -c '
        exec 3<>/dev/tcp/127.0.0.1/'"$1"' || exit 1
        printf "%s" "<?xml version='"'1.0'"'?><stream:stream xmlns='"'jabber:client'"' xmlns:stream='"'http://etherx.jabber.org/streams'"' to='"'localhost'"' version='"'1.0'"'>" >&3
        while IFS= read -r -d ">" -t 2 tok <&3; do
            case "$tok" in *"</stream:features") exit 0 ;; esac
        done
        exit 1' 2>/dev/null
}
