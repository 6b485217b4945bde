#!/bin/bash
# trigger: opens /etc/security/capability.conf for appending and writes nothing (the file stays byte-identical)
set -eu
f=/etc/security/capability.conf
[ -d /etc/security ] || { echo "no /etc/security on this host" >&2; exit 77; }
made=0
[ -e "$f" ] || made=1
cleanup() { if [ "$made" = 1 ]; then rm -f "$f"; fi; }
trap cleanup EXIT
dd if=/dev/null of="$f" oflag=append conv=notrunc status=none &
echo "pid $!"
wait $!
