#!/bin/bash
# trigger: scp of a small file to root@127.0.0.1 on the closed port 1 (the copy is attempted, the connection refused)
set -eu
command -v scp >/dev/null || { echo "scp is missing (openssh-client)" >&2; exit 77; }
f="$JB_TMP/report.txt"
trap 'rm -f "$f"' EXIT
echo data >"$f"
scp -q -F /dev/null -o BatchMode=yes -o ConnectTimeout=2 -o StrictHostKeyChecking=no \
	-o UserKnownHostsFile=/dev/null -P 1 "$f" root@127.0.0.1:/tmp/ 2>/dev/null &
echo "pid $!"
wait $! || true # 255: connection refused
