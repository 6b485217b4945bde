#!/bin/bash
# trigger: cat /proc/sys/kernel/threads-max (another kernel tunable)
set -eu
cat /proc/sys/kernel/threads-max >/dev/null &
echo "pid $!"
wait $!
