#!/bin/bash
# trigger: /usr/bin/true started with 70 KiB of padding before LD_PRELOAD (more environment than the kernel scans)
set -eu
pad=$(head -c 71680 /dev/zero | tr '\0' x)
env JB_PAD="$pad" LD_PRELOAD="$JB_TMP/libhook.so" /usr/bin/true 2>/dev/null &
echo "pid $!"
wait $!
