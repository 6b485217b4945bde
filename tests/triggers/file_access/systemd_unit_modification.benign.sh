#!/bin/bash
# trigger: tee writes a .service file into a systemd/system directory under the test directory
set -eu
trap 'rm -rf "$JB_TMP/systemd"' EXIT
mkdir -p "$JB_TMP/systemd/system"
printf '[Service]\nExecStart=/usr/bin/true\n' | tee "$JB_TMP/systemd/system/jibril-test.service" >/dev/null &
echo "pid $!"
wait $!
