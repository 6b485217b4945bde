#!/bin/bash
# trigger: a copy of /usr/bin/true named rsync given two local paths (a local copy)
set -eu
T=$(mktemp -d /opt/jibril-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir "$T/bin" "$T/src" "$T/dst"
cp /usr/bin/true "$T/bin/rsync"
"$T/bin/rsync" -a "$T/src/" "$T/dst/" &
echo "pid $!"
wait $!
