#!/bin/bash
# trigger: a process connects out over TCP to 127.0.0.1:4444, a reverse-shell handler port (refused is fine: the attempt is the behaviour)
set -eu
[ -x "$JB_HELPERS/tcpconn" ] || { echo "tcpconn helper not built" >&2; exit 77; }
"$JB_HELPERS/tcpconn" connect 127.0.0.1 4444 &
pid=$!
echo "pid $pid"
wait "$pid" || true
