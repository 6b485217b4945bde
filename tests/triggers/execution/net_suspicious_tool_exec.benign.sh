#!/bin/bash
# trigger: a copy of /usr/bin/true named curl given a loopback raw-IP URL (health-check style)
set -eu
T=$(mktemp -d /opt/jibril-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir "$T/bin"
cp /usr/bin/true "$T/bin/curl"
"$T/bin/curl" -fsS http://127.0.0.1:8080/healthz &
echo "pid $!"
wait $!
