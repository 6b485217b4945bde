#!/bin/bash
# trigger: id root (looks the account up, manages nothing)
set -eu
id root >/dev/null &
echo "pid $!"
wait $!
