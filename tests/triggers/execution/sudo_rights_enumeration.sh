#!/bin/bash
# trigger: sudo -n -l (lists what root may run; a copy of /usr/bin/true named sudo when sudo is not installed)
set -eu
T=$(mktemp -d /opt/jibril-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
sudo=$(command -v sudo || :)
if [ -z "$sudo" ]; then
	mkdir "$T/bin"
	cp /usr/bin/true "$T/bin/sudo"
	sudo=$T/bin/sudo
fi
"$sudo" -n -l >/dev/null &
echo "pid $!"
wait $!
