#!/bin/bash
# trigger: renames a hard link of /var/log/btmp onto /var/log/btmp (a real rename(2) onto the log; same inode, so nothing changes)
# `mv doctored-copy /var/log/btmp` is how a login record is replaced; here
# the "copy" is a second name of the same inode, for which rename(2)
# succeeds without doing anything: the log is never missing nor altered.
set -eu
log=/var/log/btmp
alt=/var/log/btmp.jibril-test.$$
made=0
cleanup() {
	rm -f "$alt"
	if [ "$made" = 1 ]; then rm -f "$log"; fi
}
trap cleanup EXIT
if [ ! -e "$log" ]; then
	# no btmp on this host: create an empty one (as systemd-tmpfiles would), removed at exit
	: > "$log"
	made=1
fi
ln "$log" "$alt"
perl -e 'rename($ARGV[0], $ARGV[1]) or die "rename: $!\n"' "$alt" "$log" &
echo "pid $!"
wait $!
