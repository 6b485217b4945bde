#!/bin/bash
# trigger: cat /proc/net/dev (interface counters, read by every monitoring agent)
set -eu
cat /proc/net/dev >/dev/null &
echo "pid $!"
wait $!
