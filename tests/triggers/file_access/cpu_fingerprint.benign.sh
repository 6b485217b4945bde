#!/bin/bash
# trigger: cat /sys/devices/system/cpu/online (what glibc's get_nprocs() reads in every thread pool)
set -eu
cat /sys/devices/system/cpu/online >/dev/null &
echo "pid $!"
wait $!
