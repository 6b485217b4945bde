#!/bin/bash
# trigger: cat /proc/version
set -eu
cat /proc/version >/dev/null &
echo "pid $!"
wait $!
