#!/bin/bash
# trigger: cat reads SSH public material only: id_ed25519.pub and known_hosts in a .ssh directory under the test directory, and the host's public keys
set -eu
tmp=${JB_TMP:-$PWD}
trap 'rm -rf "$tmp/home"' EXIT
mkdir -p -m 700 "$tmp/home/.ssh"
printf 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJibrilJibrilJibrilJibrilJibrilJibrilJibril0 test\n' \
	> "$tmp/home/.ssh/id_ed25519.pub"
printf 'localhost ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJibrilJibrilJibrilJibrilJibrilJibrilJibril0\n' \
	> "$tmp/home/.ssh/known_hosts"
set -- "$tmp/home/.ssh/id_ed25519.pub" "$tmp/home/.ssh/known_hosts"
for k in /etc/ssh/ssh_host_*_key.pub; do
	if [ -r "$k" ]; then set -- "$@" "$k"; fi
done
cat "$@" >/dev/null &
echo "pid $!"
wait $!
