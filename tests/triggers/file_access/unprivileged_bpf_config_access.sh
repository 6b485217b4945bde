#!/bin/bash
# trigger: cat /proc/sys/kernel/unprivileged_bpf_disabled
set -eu
cat /proc/sys/kernel/unprivileged_bpf_disabled >/dev/null &
echo "pid $!"
wait $!
