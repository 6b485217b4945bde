#!/bin/bash
# trigger: cat reads the scheduler debug dump (/proc/sched_debug, or /sys/kernel/debug/sched/debug with debugfs mounted in a private mount namespace if it is not mounted)
set -eu
if [ -r /proc/sched_debug ]; then
	cat /proc/sched_debug >/dev/null &
elif [ -r /sys/kernel/debug/sched/debug ]; then
	cat /sys/kernel/debug/sched/debug >/dev/null &
else
	grep -qw debugfs /proc/filesystems || { echo "no debugfs in this kernel" >&2; exit 77; }
	command -v unshare >/dev/null || { echo "no unshare(1)" >&2; exit 77; }
	# unshare and sh exec: the pid below is the one cat runs as
	unshare -m --propagation private sh -c \
		'mount -t debugfs none /sys/kernel/debug && exec cat /sys/kernel/debug/sched/debug' >/dev/null &
fi
echo "pid $!"
wait $!
