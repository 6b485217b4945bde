#!/bin/bash
# trigger: cat /proc/sys/kernel/random/boot_id (changes every boot; journald and services read it)
set -eu
cat /proc/sys/kernel/random/boot_id >/dev/null &
echo "pid $!"
wait $!
