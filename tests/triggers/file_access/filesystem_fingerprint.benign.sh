#!/bin/bash
# trigger: cat /proc/filesystems (read by every program linked with libselinux)
set -eu
cat /proc/filesystems >/dev/null &
echo "pid $!"
wait $!
