#!/bin/bash
# trigger: tee creates /etc/iptables/jibril-test-<pid>.rules holding only a comment (no firewall loads that name; removed at exit, the directory too if the host had none)
set -eu
d=/etc/iptables
made_dir=0
f=$d/jibril-test-$$.rules
cleanup() {
	rm -f "$f"
	if [ "$made_dir" = 1 ]; then rmdir "$d" 2>/dev/null || :; fi
}
trap cleanup EXIT
if [ ! -d "$d" ]; then mkdir -m 755 "$d"; made_dir=1; fi
printf '# jibril trigger test: no rule, removed at once\n' | tee "$f" >/dev/null &
echo "pid $!"
wait $!
