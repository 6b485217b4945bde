#!/bin/bash
# trigger: find runs a bare /bin/sh through -exec (the GTFOBins escape `find . -exec /bin/sh \; -quit`); the shell reads one command from a pipe
set -eu
# shellcheck disable=SC2016 # expanded by the escaped shell
echo 'echo "pid $$"' | find "$JB_TMP" -maxdepth 0 -exec /bin/sh \; -quit
