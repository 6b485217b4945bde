#!/bin/bash
# trigger: cat reads an SSH private key: a host key in /etc/ssh when the host has one, else a stand-in id_ed25519 in a .ssh directory under the test directory
set -eu
tmp=${JB_TMP:-$PWD}
trap 'rm -rf "$tmp/home"' EXIT
key=
for k in /etc/ssh/ssh_host_ed25519_key /etc/ssh/ssh_host_ecdsa_key /etc/ssh/ssh_host_rsa_key; do
	if [ -r "$k" ]; then key=$k; break; fi
done
if [ -z "$key" ]; then
	mkdir -p -m 700 "$tmp/home/.ssh"
	key=$tmp/home/.ssh/id_ed25519
	( umask 077; printf '%s\n' '-----BEGIN OPENSSH PRIVATE KEY-----' \
		'amlicmlsIHRyaWdnZXIgdGVzdDogbm90IGEga2V5Cg==' \
		'-----END OPENSSH PRIVATE KEY-----' > "$key" )
fi
cat "$key" >/dev/null &
echo "pid $!"
wait $!
