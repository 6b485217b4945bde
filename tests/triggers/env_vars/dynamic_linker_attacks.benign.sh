#!/bin/bash
# trigger: /usr/bin/true started with LD_BIND_NOW=1 (a loader variable that loads nothing)
set -eu
LD_BIND_NOW=1 /usr/bin/true &
echo "pid $!"
wait $!
