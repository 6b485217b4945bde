#!/bin/bash
# trigger: cp copies /etc/ld.so.conf into the test directory (reads the real one, writes elsewhere)
set -eu
tmp=${JB_TMP:-$PWD}
trap 'rm -f "$tmp/ld.so.conf"' EXIT
cp /etc/ld.so.conf "$tmp/ld.so.conf" &
echo "pid $!"
wait $!
