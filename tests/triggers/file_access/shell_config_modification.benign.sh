#!/bin/bash
# trigger: cp copies /etc/bash.bashrc to a .bashrc in the test directory (reads the real one, writes outside any home)
set -eu
tmp=${JB_TMP:-$PWD}
trap 'rm -f "$tmp/.bashrc"' EXIT
src=/etc/bash.bashrc
[ -r "$src" ] || src=/etc/profile
cp "$src" "$tmp/.bashrc" &
echo "pid $!"
wait $!
