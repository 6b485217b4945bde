#!/bin/bash
# trigger: the same runc copy started by a process named containerd-shim-runc-v2 (a copy of bash)
set -eu
T=$(mktemp -d /opt/jibril-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir "$T/bin" "$T/bundle"
cp /usr/bin/true "$T/bin/runc"
cp /usr/bin/bash "$T/bin/containerd-shim-runc-v2"
# shellcheck disable=SC2016 # expanded by the inner shell
"$T/bin/containerd-shim-runc-v2" -c '"$1" create --bundle "$2" jibril-test & echo "pid $!"; wait $!' \
	shim "$T/bin/runc" "$T/bundle"
