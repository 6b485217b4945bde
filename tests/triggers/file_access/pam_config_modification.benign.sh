#!/bin/bash
# trigger: cp copies /etc/pam.d/other into the test directory (reads the real PAM file, writes elsewhere)
set -eu
tmp=${JB_TMP:-$PWD}
trap 'rm -f "$tmp/pam-other"' EXIT
[ -r /etc/pam.d/other ] || { echo "no /etc/pam.d/other on this host" >&2; exit 77; }
cp /etc/pam.d/other "$tmp/pam-other" &
echo "pid $!"
wait $!
