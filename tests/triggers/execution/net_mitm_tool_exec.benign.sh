#!/bin/bash
# trigger: a copy of /usr/bin/true named tinyproxy (an ordinary forward proxy)
set -eu
T=$(mktemp -d /opt/jibril-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir "$T/bin"
cp /usr/bin/true "$T/bin/tinyproxy"
"$T/bin/tinyproxy" -d &
echo "pid $!"
wait $!
