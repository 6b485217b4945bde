#!/bin/bash
# trigger: tee creates /etc/apt/sources.list.d/jibril-test-<pid>.list holding only a comment (yum.repos.d on RPM hosts; removed at exit)
set -eu
if [ -d /etc/apt/sources.list.d ]; then
	f=/etc/apt/sources.list.d/jibril-test-$$.list
elif [ -d /etc/yum.repos.d ]; then
	f=/etc/yum.repos.d/jibril-test-$$.repo
else
	echo "no APT or yum source directory on this host" >&2
	exit 77
fi
trap 'rm -f "$f"' EXIT
printf '# jibril trigger test: no source, removed at once\n' | tee "$f" >/dev/null &
echo "pid $!"
wait $!
