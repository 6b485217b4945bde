#!/bin/bash
# trigger: cat /proc/self/sched (one process's own scheduler statistics, not the host-wide dump)
set -eu
cat /proc/self/sched >/dev/null &
echo "pid $!"
wait $!
