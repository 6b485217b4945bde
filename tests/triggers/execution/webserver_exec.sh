#!/bin/bash
# trigger: a process named nginx (a copy of bash) runs /usr/bin/id, as a web shell would
set -eu
T=$(mktemp -d /opt/jibril-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir "$T/sbin"
cp /usr/bin/bash "$T/sbin/nginx"
"$T/sbin/nginx" -c '/usr/bin/id >/dev/null & echo "pid $!"; wait $!'
