#!/bin/bash
# trigger: cat /etc/shadow
set -eu
cat /etc/shadow >/dev/null &
echo "pid $!"
wait $!
