#!/bin/bash
# trigger: a copy of /usr/bin/true named .hidden executed from /opt
set -eu
T=$(mktemp -d /opt/jibril-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir "$T/bin"
cp /usr/bin/true "$T/bin/.hidden"
"$T/bin/.hidden" &
echo "pid $!"
wait $!
