#!/bin/bash
# trigger: a copy of /usr/bin/true named ab (a load tester, deliberately not listed) aimed at loopback
set -eu
T=$(mktemp -d /opt/jibril-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir "$T/bin"
cp /usr/bin/true "$T/bin/ab"
"$T/bin/ab" -n 10 -c 1 http://127.0.0.1/ &
echo "pid $!"
wait $!
