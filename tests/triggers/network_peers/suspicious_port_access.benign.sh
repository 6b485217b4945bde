#!/bin/bash
# twin: the same connect to 127.0.0.1:4443, a port no recipe names
set -eu
[ -x "$JB_HELPERS/tcpconn" ] || { echo "tcpconn helper not built" >&2; exit 77; }
"$JB_HELPERS/tcpconn" connect 127.0.0.1 4443 &
pid=$!
echo "pid $pid"
wait "$pid" || true
