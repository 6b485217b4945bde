#!/bin/bash
# trigger: dd opens /proc/sysrq-trigger for writing and writes nothing; on kernels without CONFIG_MAGIC_SYSRQ the same open goes to a stand-in file bind-mounted over /proc in a private mount namespace
set -eu
tmp=$(realpath "${JB_TMP:-$PWD}")
trap 'rm -rf "$tmp/fakeproc"' EXIT
if [ -e /proc/sysrq-trigger ]; then
	dd if=/dev/null of=/proc/sysrq-trigger conv=notrunc,nocreat status=none &
else
	command -v unshare >/dev/null || { echo "no sysrq in this kernel and no unshare(1)" >&2; exit 77; }
	mkdir "$tmp/fakeproc"
	: > "$tmp/fakeproc/sysrq-trigger"
	# unshare and sh exec: the pid below is the one dd runs as
	unshare -m --propagation private sh -c \
		'mount --bind "$1" /proc && exec dd if=/dev/null of=/proc/sysrq-trigger conv=notrunc,nocreat status=none' \
		sh "$tmp/fakeproc" &
fi
echo "pid $!"
wait $!
