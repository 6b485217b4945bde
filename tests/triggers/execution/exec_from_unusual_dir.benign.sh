#!/bin/bash
# trigger: /usr/bin/ls run with /tmp as its working directory
set -eu
(cd /tmp && exec /usr/bin/ls >/dev/null) &
echo "pid $!"
wait $!
