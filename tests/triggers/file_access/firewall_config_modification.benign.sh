#!/bin/bash
# trigger: tee writes an iptables-save style rules.v4 into an iptables directory under the test directory
set -eu
trap 'rm -rf "$JB_TMP/iptables"' EXIT
mkdir "$JB_TMP/iptables"
printf '*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n' | tee "$JB_TMP/iptables/rules.v4" >/dev/null &
echo "pid $!"
wait $!
