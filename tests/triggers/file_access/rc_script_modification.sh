#!/bin/bash
# trigger: creates a non-executable /etc/rc.local holding only a comment when the host has none (removed at exit), else opens it for appending and writes nothing (byte-identical)
# rc-local.service runs /etc/rc.local only when it is executable: the file
# made here never runs.
set -eu
f=/etc/rc.local
if [ -e "$f" ]; then
	(: >>"$f") &
else
	trap 'rm -f "$f"' EXIT
	(umask 0022; printf '# jibril trigger test: does nothing, removed at once\n' >"$f") &
fi
echo "pid $!"
wait $!
