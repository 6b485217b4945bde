#!/bin/bash
# trigger: opens a sleeping child's /proc/<pid>/mem read-only (a debugger's peek, no write)
set -eu
sleep 30 &
t=$!
trap 'kill $t 2>/dev/null || :; wait $t 2>/dev/null || :; :' EXIT
head -c 0 /proc/$t/mem &
echo "pid $!"
wait $!
