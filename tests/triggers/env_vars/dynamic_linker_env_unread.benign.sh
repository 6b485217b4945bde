#!/bin/bash
# trigger: /usr/bin/true started with a big CI-like environment (8 KiB in 120 variables) and no LD_* variable
set -eu
args=()
for i in $(seq 1 120); do args+=("CI_VAR_$i=$(printf '%0.sv' $(seq 1 56))"); done
env "${args[@]}" /usr/bin/true &
echo "pid $!"
wait $!
