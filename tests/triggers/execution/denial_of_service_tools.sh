#!/bin/bash
# trigger: a copy of /usr/bin/true named slowhttptest, aimed at loopback
set -eu
T=$(mktemp -d /opt/jibril-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir "$T/bin"
cp /usr/bin/true "$T/bin/slowhttptest"
"$T/bin/slowhttptest" -c 1000 -H -u http://127.0.0.1/ &
echo "pid $!"
wait $!
