#!/bin/bash
# trigger: head opens /proc/sysrq-trigger read-only and reads nothing (stand-in bind-mounted over /proc in a private mount namespace on kernels without CONFIG_MAGIC_SYSRQ)
set -eu
tmp=$(realpath "${JB_TMP:-$PWD}")
trap 'rm -rf "$tmp/fakeproc"' EXIT
if [ -e /proc/sysrq-trigger ]; then
	head -c 0 /proc/sysrq-trigger &
else
	command -v unshare >/dev/null || { echo "no sysrq in this kernel and no unshare(1)" >&2; exit 77; }
	mkdir "$tmp/fakeproc"
	: > "$tmp/fakeproc/sysrq-trigger"
	unshare -m --propagation private sh -c \
		'mount --bind "$1" /proc && exec head -c 0 /proc/sysrq-trigger' sh "$tmp/fakeproc" &
fi
echo "pid $!"
wait $!
