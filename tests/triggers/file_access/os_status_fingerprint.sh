#!/bin/bash
# trigger: head reads the first kernel symbol of /proc/kallsyms
set -eu
head -n 1 /proc/kallsyms >/dev/null &
echo "pid $!"
wait $!
