#!/bin/bash
# trigger: cat /proc/partitions
set -eu
cat /proc/partitions >/dev/null &
echo "pid $!"
wait $!
