#!/bin/bash
# trigger: tee creates /etc/ld.so.conf.d/jibril-test-<pid>.conf holding only a comment (removed at exit)
set -eu
d=/etc/ld.so.conf.d
[ -d "$d" ] || { echo "no $d on this host" >&2; exit 77; }
f=$d/jibril-test-$$.conf
trap 'rm -f "$f"' EXIT
printf '# jibril trigger test: adds no directory, removed at once\n' | tee "$f" >/dev/null &
echo "pid $!"
wait $!
