#!/bin/bash
# trigger: find runs /bin/sh -c 'test -d "$1"' through -exec (a script's shell command, not a bare shell)
set -eu
# shellcheck disable=SC2016 # expanded by the inner shell
find "$JB_TMP" -maxdepth 0 -exec /bin/sh -c 'test -d "$1"' sh {} \; &
echo "pid $!"
wait $!
