#!/bin/bash
# trigger: /usr/bin/true started with LD_PRELOAD naming a library in the trigger directory
set -eu
LD_PRELOAD="$JB_TMP/libhook.so" /usr/bin/true 2>/dev/null &
echo "pid $!"
wait $!
