#!/bin/bash
# trigger: a copy of /usr/bin/true named netstat (listing local sockets is no scan)
set -eu
T=$(mktemp -d /opt/jibril-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir "$T/bin"
cp /usr/bin/true "$T/bin/netstat"
"$T/bin/netstat" -tln &
echo "pid $!"
wait $!
