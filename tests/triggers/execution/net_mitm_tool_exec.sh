#!/bin/bash
# trigger: a copy of /usr/bin/true named bettercap started on the loopback interface
set -eu
T=$(mktemp -d /opt/jibril-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir "$T/bin"
cp /usr/bin/true "$T/bin/bettercap"
"$T/bin/bettercap" -iface lo -no-colors &
echo "pid $!"
wait $!
