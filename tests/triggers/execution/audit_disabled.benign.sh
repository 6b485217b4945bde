#!/bin/bash
# trigger: a copy of /usr/bin/true named auditctl run as `auditctl -s` (status) and `auditctl -l` (list rules)
set -eu
T=$(mktemp -d /opt/jibril-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir "$T/sbin"
cp /usr/bin/true "$T/sbin/auditctl"
"$T/sbin/auditctl" -s
"$T/sbin/auditctl" -l &
echo "pid $!"
wait $!
