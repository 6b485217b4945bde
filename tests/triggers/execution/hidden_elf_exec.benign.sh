#!/bin/bash
# trigger: a copy of /usr/bin/true with a visible name inside a hidden directory under /opt
set -eu
T=$(mktemp -d /opt/jibril-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/.cache/bin"
cp /usr/bin/true "$T/.cache/bin/tool"
"$T/.cache/bin/tool" &
echo "pid $!"
wait $!
