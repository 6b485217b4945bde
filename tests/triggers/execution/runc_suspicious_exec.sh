#!/bin/bash
# trigger: a copy of /usr/bin/true named runc started from a plain shell (runc exec into a container)
set -eu
T=$(mktemp -d /opt/jibril-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir "$T/bin"
cp /usr/bin/true "$T/bin/runc"
"$T/bin/runc" --root /run/containerd/runc/k8s.io exec -t jibril-test sh &
echo "pid $!"
wait $!
