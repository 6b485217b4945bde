#!/bin/bash
# trigger: tee appends a host line to a known_hosts file in a .ssh directory under the test directory
set -eu
tmp=${JB_TMP:-$PWD}
trap 'rm -rf "$tmp/home"' EXIT
mkdir -p -m 700 "$tmp/home/jibril/.ssh"
printf 'localhost ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJibrilJibrilJibrilJibrilJibrilJibrilJibril0\n' |
	tee -a "$tmp/home/jibril/.ssh/known_hosts" >/dev/null &
echo "pid $!"
wait $!
