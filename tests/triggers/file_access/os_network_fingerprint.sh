#!/bin/bash
# trigger: cat /proc/net/route (recorded as /proc/<pid>/net/route)
set -eu
cat /proc/net/route >/dev/null &
echo "pid $!"
wait $!
