#!/bin/bash
# trigger: a copy of /usr/bin/true named pwgen (a password generator, not a cracker)
set -eu
T=$(mktemp -d /opt/jibril-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir "$T/bin"
cp /usr/bin/true "$T/bin/pwgen"
"$T/bin/pwgen" 16 1 &
echo "pid $!"
wait $!
