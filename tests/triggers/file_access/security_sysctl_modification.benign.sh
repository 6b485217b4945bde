#!/bin/bash
# trigger: sysctl -w writes kernel.threads-max's current value back (a tunable, not a hardening switch)
set -eu
command -v sysctl >/dev/null || { echo "no sysctl (procps) on this host" >&2; exit 77; }
v=$(sysctl -n kernel.threads-max)
sysctl -q -w kernel.threads-max="$v" &
echo "pid $!"
wait $!
