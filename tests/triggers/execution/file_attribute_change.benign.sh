#!/bin/bash
# trigger: chmod 0644 (no setuid/setgid) on a fresh empty file in the trigger directory
set -eu
f="$JB_TMP/attr-target"
trap 'rm -f "$f"' EXIT
: >"$f"
chmod 0644 "$f" &
echo "pid $!"
wait $!
