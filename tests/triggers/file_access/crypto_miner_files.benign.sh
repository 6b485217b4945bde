#!/bin/bash
# trigger: tee writes an ordinary JSON settings file (settings.json) into the test directory
set -eu
tmp=${JB_TMP:-$PWD}
trap 'rm -f "$tmp/settings.json"' EXIT
printf '%s\n' '{"autosave": false, "log-level": 2, "servers": [{"url": "app.invalid:8080"}]}' |
	tee "$tmp/settings.json" >/dev/null &
echo "pid $!"
wait $!
