#!/bin/bash
# trigger: a process named nginx (a copy of bash) re-executes its own binary (binary upgrade)
set -eu
T=$(mktemp -d /opt/jibril-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir "$T/sbin"
cp /usr/bin/bash "$T/sbin/nginx"
# shellcheck disable=SC2016 # expanded by the inner shell
"$T/sbin/nginx" -c '"$1" -c ":" & echo "pid $!"; wait $!' nginx "$T/sbin/nginx"
