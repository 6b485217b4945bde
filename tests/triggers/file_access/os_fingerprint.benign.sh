#!/bin/bash
# trigger: cat /proc/cmdline (the boot command line, read by systemd generators and udev)
set -eu
cat /proc/cmdline >/dev/null &
echo "pid $!"
wait $!
