#!/bin/bash
# trigger: a copy of /usr/bin/true executed from a directory with dots and a space inside its name ("release 1.2.3") under /opt
set -eu
T=$(mktemp -d /opt/jibril-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir "$T/release 1.2.3"
cp /usr/bin/true "$T/release 1.2.3/update"
"$T/release 1.2.3/update" &
echo "pid $!"
wait $!
