#!/bin/bash
# trigger: the uring helper opens and reads /etc/shadow through io_uring only (IORING_OP_OPENAT, IORING_OP_READ)
set -eu
[ -x "$JB_HELPERS/uring" ] || { echo "uring helper not built" >&2; exit 77; }
"$JB_HELPERS/uring" open-read /etc/shadow &
pid=$!
echo "pid $pid"
st=0
wait "$pid" || st=$?
if [ "$st" = 3 ]; then echo "io_uring cannot be set up here" >&2; exit 77; fi
exit "$st"
