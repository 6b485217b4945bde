#!/bin/bash
# trigger: passwd -S root (prints root's password status, changes nothing)
set -eu
command -v passwd >/dev/null || { echo "passwd is missing" >&2; exit 77; }
passwd -S root >/dev/null &
echo "pid $!"
wait $!
