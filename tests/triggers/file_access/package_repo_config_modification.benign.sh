#!/bin/bash
# trigger: cp copies the APT configuration tree into the test directory (reads the real sources, writes elsewhere)
set -eu
tmp=${JB_TMP:-$PWD}
trap 'rm -rf "$tmp/apt"' EXIT
src=/etc/apt
[ -d "$src" ] || src=/etc/yum.repos.d
[ -d "$src" ] || { echo "no APT or yum configuration on this host" >&2; exit 77; }
cp -r "$src" "$tmp/apt" &
echo "pid $!"
wait $!
