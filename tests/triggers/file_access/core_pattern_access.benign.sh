#!/bin/bash
# trigger: cat /proc/sys/kernel/core_uses_pid (the core dump setting next to core_pattern)
set -eu
cat /proc/sys/kernel/core_uses_pid >/dev/null &
echo "pid $!"
wait $!
