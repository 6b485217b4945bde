#!/bin/bash
# trigger: a copy of /usr/bin/true executed from a fresh directory under /tmp
set -eu
d=$(mktemp -d /tmp/jb-unusual.XXXXXX)
trap 'rm -rf "$d"' EXIT
cp /usr/bin/true "$d/update"
"$d/update" &
echo "pid $!"
wait $!
