#!/bin/bash
# trigger: runs /usr/bin/true through the dynamic loader: /lib64/ld-linux-x86-64.so.2 /usr/bin/true
set -eu
ld=/lib64/ld-linux-x86-64.so.2
[ -x "$ld" ] || { echo "no $ld on this machine" >&2; exit 77; }
"$ld" /usr/bin/true &
echo "pid $!"
wait $!
