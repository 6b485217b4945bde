#!/bin/bash
# trigger: grep -r -i password over the (empty) trigger directory
set -eu
grep -r -i -l password "$JB_TMP" >/dev/null &
echo "pid $!"
wait $! || true # 1: nothing found
