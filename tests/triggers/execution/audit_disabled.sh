#!/bin/bash
# trigger: a copy of /usr/bin/true named auditctl run as `auditctl -e 0` (turning kernel auditing off)
# A copy, not the real auditctl: the real one would switch this host's
# auditing off. The recipe judges the executable's name and arguments.
set -eu
T=$(mktemp -d /opt/jibril-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir "$T/sbin"
cp /usr/bin/true "$T/sbin/auditctl"
"$T/sbin/auditctl" -e 0 &
echo "pid $!"
wait $!
