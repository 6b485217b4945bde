#!/bin/bash
# trigger: cat /proc/cpuinfo
set -eu
cat /proc/cpuinfo >/dev/null &
echo "pid $!"
wait $!
