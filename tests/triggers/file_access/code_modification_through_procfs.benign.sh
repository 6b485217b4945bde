#!/bin/bash
# trigger: dd reads a sleeping child's /proc/<pid>/maps (where a patcher looks first; no memory opened)
# Opening /proc/<pid>/mem even read-only is memory_read_through_procfs's.
set -eu
sleep 30 &
t=$!
trap 'kill $t 2>/dev/null || :; wait $t 2>/dev/null || :; :' EXIT
dd if=/proc/$t/maps of=/dev/null status=none &
echo "pid $!"
wait $!
