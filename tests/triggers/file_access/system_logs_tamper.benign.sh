#!/bin/bash
# trigger: opens an existing *.log under /var/log for appending and writes nothing (a logger's open; the file stays byte-identical)
set -eu
f=
for c in /var/log/dpkg.log /var/log/alternatives.log /var/log/apt/history.log; do
	if [ -f "$c" ]; then f=$c; break; fi
done
if [ -z "$f" ]; then
	f=$(find /var/log -maxdepth 2 -type f -name '*.log' ! -name auth.log 2>/dev/null | head -n1)
fi
[ -n "$f" ] || { echo "no *.log file under /var/log on this host" >&2; exit 77; }
(: >>"$f") &
echo "pid $!"
wait $!
