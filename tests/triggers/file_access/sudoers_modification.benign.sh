#!/bin/bash
# trigger: a subshell creates a sudoers-style file (mode 0440) in a sudoers.d directory under the test directory
set -eu
tmp=${JB_TMP:-$PWD}
trap 'rm -rf "$tmp/sudoers.d"' EXIT
mkdir -m 750 "$tmp/sudoers.d"
( umask 0227; printf '# local test rule file\n' > "$tmp/sudoers.d/jibril-test" ) &
echo "pid $!"
wait $!
