#!/bin/bash
# trigger: a copy of /usr/bin/true named ncat started with a loopback peer
set -eu
T=$(mktemp -d /opt/jibril-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir "$T/bin"
cp /usr/bin/true "$T/bin/ncat"
"$T/bin/ncat" 127.0.0.1 4444 &
echo "pid $!"
wait $!
