#!/bin/bash
# trigger: copies /var/log/wtmp into the test directory and empties the copy with O_TRUNC (a login record outside /var/log)
set -eu
tmp=${JB_TMP:-$PWD}
trap 'rm -f "$tmp/wtmp"' EXIT
if [ -r /var/log/wtmp ]; then cp /var/log/wtmp "$tmp/wtmp"; else : > "$tmp/wtmp"; fi
( : > "$tmp/wtmp" ) &
echo "pid $!"
wait $!
