#!/bin/bash
# trigger: rm removes /var/log/jibril-test-<pid>.log, a log file the test wrote there a moment before
set -eu
f=/var/log/jibril-test-$$.log
trap 'rm -f "$f"' EXIT
printf 'jibril trigger test: removed at once\n' >>"$f"
rm "$f" &
echo "pid $!"
wait $!
