#!/bin/bash
# trigger: awk prints root's shell from /etc/passwd (a path holding "passwd" is no credential search)
set -eu
awk -F: '$1 == "root" { print $7 }' /etc/passwd >/dev/null &
echo "pid $!"
wait $!
