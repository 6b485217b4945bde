#!/bin/bash
# trigger: tee writes an XMRig configuration file (xmrig.json) into the test directory
set -eu
tmp=${JB_TMP:-$PWD}
trap 'rm -f "$tmp/xmrig.json"' EXIT
printf '%s\n' '{"autosave": false, "cpu": {"enabled": true}, "pools": [{"url": "pool.invalid:3333", "user": "jibril-test"}]}' |
	tee "$tmp/xmrig.json" >/dev/null &
echo "pid $!"
wait $!
