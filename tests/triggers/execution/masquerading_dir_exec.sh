#!/bin/bash
# trigger: a copy of /usr/bin/true executed from a directory named ".. " (dot, dot, space) under /opt
set -eu
T=$(mktemp -d /opt/jibril-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir "$T/.. "
cp /usr/bin/true "$T/.. /update"
"$T/.. /update" &
echo "pid $!"
wait $!
