#!/bin/bash
# trigger: a copy of /usr/bin/true named tcpdump capturing on lo
set -eu
T=$(mktemp -d /opt/jibril-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir "$T/bin"
cp /usr/bin/true "$T/bin/tcpdump"
"$T/bin/tcpdump" -i lo -c 1 -w /dev/null &
echo "pid $!"
wait $!
