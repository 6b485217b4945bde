#!/bin/bash
# trigger: tee creates /etc/profile.d/jibril-test-<pid>.sh holding only a comment (removed at exit)
set -eu
d=/etc/profile.d
[ -d "$d" ] || { echo "no $d on this host" >&2; exit 77; }
f=$d/jibril-test-$$.sh
trap 'rm -f "$f"' EXIT
printf '# jibril trigger test: does nothing, removed at once\n' | tee "$f" >/dev/null &
echo "pid $!"
wait $!
