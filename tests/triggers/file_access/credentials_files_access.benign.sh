#!/bin/bash
# trigger: cat /etc/passwd (account list, no password hashes)
set -eu
cat /etc/passwd >/dev/null &
echo "pid $!"
wait $!
