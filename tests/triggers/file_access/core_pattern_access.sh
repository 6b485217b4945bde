#!/bin/bash
# trigger: cat /proc/sys/kernel/core_pattern
set -eu
cat /proc/sys/kernel/core_pattern >/dev/null &
echo "pid $!"
wait $!
