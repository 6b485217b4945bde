#!/bin/bash
# trigger: sysctl -w writes kernel.kptr_restrict's current value back (a real write of the switch; its value does not change)
set -eu
command -v sysctl >/dev/null || { echo "no sysctl (procps) on this host" >&2; exit 77; }
v=$(sysctl -n kernel.kptr_restrict)
sysctl -q -w kernel.kptr_restrict="$v" &
echo "pid $!"
wait $!
