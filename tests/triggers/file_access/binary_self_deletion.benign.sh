#!/bin/bash
# trigger: rm deletes a copy of the rm binary (an executable it did not run)
set -eu
tmp=$(realpath "${JB_TMP:-$PWD}")
trap 'rm -f "$tmp/rm-copy"' EXIT
cp /usr/bin/rm "$tmp/rm-copy"
rm "$tmp/rm-copy" &
echo "pid $!"
wait $!
