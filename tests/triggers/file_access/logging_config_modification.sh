#!/bin/bash
# trigger: tee creates /etc/systemd/journald.conf.d/jibril-test-<pid>.conf holding only a comment (removed at exit; the directory too if the host had none)
set -eu
d=/etc/systemd/journald.conf.d
made_dir=0
f=$d/jibril-test-$$.conf
cleanup() {
	rm -f "$f"
	if [ "$made_dir" = 1 ]; then rmdir "$d" 2>/dev/null || :; fi
}
trap cleanup EXIT
[ -d /etc/systemd ] || { echo "no /etc/systemd on this host" >&2; exit 77; }
if [ ! -d "$d" ]; then mkdir -m 755 "$d"; made_dir=1; fi
printf '# jibril trigger test: sets nothing, removed at once\n' | tee "$f" >/dev/null &
echo "pid $!"
wait $!
