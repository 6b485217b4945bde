#!/bin/bash
# trigger: a copy of /usr/bin/true named xmrig started with a stratum+tcp pool URL on loopback
set -eu
# one path per runner ($PPID), the same on every run: the times_per_exe
# limit of this recipe is tested by running this script repeatedly
T=/opt/jibril-test.miner.$PPID
trap 'rm -rf "$T"' EXIT
rm -rf "$T"
mkdir -p "$T/bin"
cp /usr/bin/true "$T/bin/xmrig"
"$T/bin/xmrig" -o stratum+tcp://127.0.0.1:3333 -u wallet -p x --donate-level 1 &
echo "pid $!"
wait $!
