#!/bin/bash
# trigger: a copy of /usr/bin/true named nmap aimed at 127.0.0.1
set -eu
T=$(mktemp -d /opt/jibril-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir "$T/bin"
cp /usr/bin/true "$T/bin/nmap"
"$T/bin/nmap" -sS -p 1-1024 127.0.0.1 &
echo "pid $!"
wait $!
