#!/bin/bash
# trigger: a copy of /usr/bin/true named pool-monitor given a plain tcp:// URL on loopback
set -eu
T=$(mktemp -d /opt/jibril-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir "$T/bin"
cp /usr/bin/true "$T/bin/pool-monitor"
"$T/bin/pool-monitor" -o tcp://127.0.0.1:3333 -u monitor &
echo "pid $!"
wait $!
