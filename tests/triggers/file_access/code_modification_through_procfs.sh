#!/bin/bash
# trigger: writes one byte of a sleeping child's writable memory back to the same address through /proc/<pid>/mem
set -eu
tmp=${JB_TMP:-$PWD}
sleep 30 &
t=$!
trap 'kill $t 2>/dev/null || :; wait $t 2>/dev/null || :; rm -f "$tmp/byte"; :' EXIT
want=$(readlink -f "$(command -v sleep)")
for _ in $(seq 250); do
	[ "$(readlink /proc/$t/exe 2>/dev/null)" = "$want" ] && break
	sleep 0.02
done
[ "$(readlink /proc/$t/exe)" = "$want" ] || { echo "sleep did not start" >&2; exit 1; }
addr=$(awk '$2 ~ /^rw/ { split($1, a, "-"); print a[1]; exit }' /proc/$t/maps)
off=$((16#$addr))
dd if=/proc/$t/mem of="$tmp/byte" bs=1 skip=$off count=1 status=none
dd if="$tmp/byte" of=/proc/$t/mem bs=1 seek=$off count=1 conv=notrunc,nocreat status=none &
echo "pid $!"
wait $!
