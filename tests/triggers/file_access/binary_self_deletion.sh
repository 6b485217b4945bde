#!/bin/bash
# trigger: a copy of perl placed in the test directory runs and unlinks its own executable
set -eu
tmp=$(realpath "${JB_TMP:-$PWD}")
bin=$tmp/selfdel
trap 'rm -f "$bin"' EXIT
cp /usr/bin/perl "$bin"
"$bin" -e 'unlink($ARGV[0]) or die "unlink: $!\n"' "$bin" &
echo "pid $!"
wait $!
[ ! -e "$bin" ]
