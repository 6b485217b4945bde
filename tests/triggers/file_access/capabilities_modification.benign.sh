#!/bin/bash
# trigger: reads /etc/security/capability.conf and appends to a copy of it in the test directory
set -eu
tmp=${JB_TMP:-$PWD}
trap 'rm -f "$tmp/capability.conf"' EXIT
if [ -r /etc/security/capability.conf ]; then
	cp /etc/security/capability.conf "$tmp/capability.conf"
else
	: > "$tmp/capability.conf"
fi
( echo '# local test line' >> "$tmp/capability.conf" ) &
echo "pid $!"
wait $!
