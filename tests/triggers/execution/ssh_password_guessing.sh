#!/bin/bash
# trigger: sshpass -p WRONG ssh root@127.0.0.1 on the closed loopback port 1 (one guess of a loop; the connection is refused)
# No sshd of our own is started: the recipe judges the sshpass exec, which
# happens whether or not a server answers.
set -eu
command -v sshpass >/dev/null || { echo "sshpass is not installed (Makefile DEB_PKGS)" >&2; exit 77; }
command -v ssh >/dev/null || { echo "no ssh client on this host" >&2; exit 77; }
sshpass -p jibril-wrong-password ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
	-o ConnectTimeout=5 -p 1 root@127.0.0.1 true 2>/dev/null &
echo "pid $!"
wait $! || :
