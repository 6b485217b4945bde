#!/bin/bash
# trigger: cat reads the environment of a sleeping sibling through /proc/<pid>/environ
set -eu
sleep 30 &
t=$!
trap 'kill $t 2>/dev/null || :; wait $t 2>/dev/null || :; :' EXIT
cat /proc/$t/environ >/dev/null &
echo "pid $!"
wait $!
