#!/bin/bash
# trigger: a process named apache2 (a copy of bash) starts a piped logger: /bin/sh -c "exec rotatelogs ..."
set -eu
T=$(mktemp -d /opt/jibril-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir "$T/sbin" "$T/bin"
cp /usr/bin/bash "$T/sbin/apache2"
cp /usr/bin/true "$T/bin/rotatelogs"
# shellcheck disable=SC2016 # expanded by the inner shell
"$T/sbin/apache2" -c '/bin/sh -c "exec $1 $2/access.%Y 86400" & echo "pid $!"; wait $!' \
	apache2 "$T/bin/rotatelogs" "$T"
