#!/bin/bash
# trigger: cat reads the command line of a sleeping sibling through /proc/<pid>/cmdline (what ps does)
set -eu
sleep 30 &
t=$!
trap 'kill $t 2>/dev/null || :; wait $t 2>/dev/null || :; :' EXIT
cat /proc/$t/cmdline >/dev/null &
echo "pid $!"
wait $!
