#!/bin/bash
# trigger: tee creates /etc/systemd/system/jibril-test-<pid>.service holding only a comment (never loaded: no daemon-reload; removed at exit)
set -eu
d=/etc/systemd/system
[ -d "$d" ] || { echo "no $d on this host" >&2; exit 77; }
f=$d/jibril-test-$$.service
trap 'rm -f "$f"' EXIT
printf '# jibril trigger test: no unit, removed at once\n' | tee "$f" >/dev/null &
echo "pid $!"
wait $!
