#!/bin/bash
# trigger: cat /proc/meminfo (what free and top read)
set -eu
cat /proc/meminfo >/dev/null &
echo "pid $!"
wait $!
