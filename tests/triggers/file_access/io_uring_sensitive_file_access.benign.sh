#!/bin/bash
# trigger: the uring helper opens and reads /etc/hostname through io_uring (a harmless file)
set -eu
[ -x "$JB_HELPERS/uring" ] || { echo "uring helper not built" >&2; exit 77; }
"$JB_HELPERS/uring" open-read /etc/hostname &
pid=$!
echo "pid $pid"
st=0
wait "$pid" || st=$?
if [ "$st" = 3 ]; then echo "io_uring cannot be set up here" >&2; exit 77; fi
exit "$st"
