#!/bin/bash
# trigger: tee creates the PAM service file /etc/pam.d/jibril-test-<pid> holding only a comment (no program uses that service; removed at exit)
set -eu
[ -d /etc/pam.d ] || { echo "no /etc/pam.d on this host" >&2; exit 77; }
f=/etc/pam.d/jibril-test-$$
trap 'rm -f "$f"' EXIT
printf '# jibril trigger test: unused service, removed at once\n' | tee "$f" >/dev/null &
echo "pid $!"
wait $!
