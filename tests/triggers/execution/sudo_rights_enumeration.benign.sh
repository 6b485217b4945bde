#!/bin/bash
# trigger: sudo -n true (runs a harmless command; a copy of /usr/bin/true named sudo when sudo is not installed)
set -eu
T=$(mktemp -d /opt/jibril-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
sudo=$(command -v sudo || :)
if [ -z "$sudo" ]; then
	mkdir "$T/bin"
	cp /usr/bin/true "$T/bin/sudo"
	sudo=$T/bin/sudo
fi
"$sudo" -n true &
echo "pid $!"
wait $!
