#!/bin/bash
# trigger: a copy of /usr/bin/true named hydra aimed at ssh on 127.0.0.1
set -eu
T=$(mktemp -d /opt/jibril-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir "$T/bin"
cp /usr/bin/true "$T/bin/hydra"
"$T/bin/hydra" -l root -P "$T/words.txt" ssh://127.0.0.1 &
echo "pid $!"
wait $!
