#!/bin/bash
# trigger: chmod u+s on a fresh empty file in the trigger directory
set -eu
f="$JB_TMP/attr-target"
trap 'rm -f "$f"' EXIT
: >"$f"
chmod u+s "$f" &
echo "pid $!"
wait $!
