#!/bin/bash
# trigger: a copy of /usr/bin/true named tcpdump reading a saved capture file (-r, no interface)
set -eu
T=$(mktemp -d /opt/jibril-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir "$T/bin"
cp /usr/bin/true "$T/bin/tcpdump"
: >"$T/capture.pcap"
"$T/bin/tcpdump" -n -r "$T/capture.pcap" &
echo "pid $!"
wait $!
