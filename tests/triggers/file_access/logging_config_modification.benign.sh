#!/bin/bash
# trigger: cp copies /etc/systemd/journald.conf (or /etc/logrotate.conf) into the test directory (reads the real one, writes outside /etc)
set -eu
src=/etc/systemd/journald.conf
[ -r "$src" ] || src=/etc/logrotate.conf
[ -r "$src" ] || { echo "neither journald.conf nor logrotate.conf on this host" >&2; exit 77; }
trap 'rm -f "$JB_TMP/journald.conf"' EXIT
cp "$src" "$JB_TMP/journald.conf" &
echo "pid $!"
wait $!
