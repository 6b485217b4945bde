#!/bin/bash
# trigger: tee creates /root/.ssh/authorized_keys holding only a comment when root has none (removed at exit), else appends a comment to an authorized_keys under the test directory
set -eu
tmp=${JB_TMP:-$PWD}
made_dir=0
made_file=0
cleanup() {
	if [ "$made_file" = 1 ]; then rm -f /root/.ssh/authorized_keys; fi
	if [ "$made_dir" = 1 ]; then rmdir /root/.ssh 2>/dev/null || :; fi
	rm -rf "$tmp/home"
}
trap cleanup EXIT
if [ -d /root ] && [ ! -e /root/.ssh/authorized_keys ] && [ ! -L /root/.ssh/authorized_keys ]; then
	if [ ! -e /root/.ssh ]; then mkdir -m 700 /root/.ssh; made_dir=1; fi
	f=/root/.ssh/authorized_keys
	made_file=1
else
	mkdir -p -m 700 "$tmp/home/jibril/.ssh"
	f=$tmp/home/jibril/.ssh/authorized_keys
fi
printf '# jibril trigger test: no key, removed at once\n' | tee -a "$f" >/dev/null &
echo "pid $!"
wait $!
