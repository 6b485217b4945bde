#!/bin/bash
# trigger: a subshell creates /etc/sudoers.d/jibril-test-<pid> (mode 0440) holding only a comment (removed at exit; the directory too if the host had none)
set -eu
d=/etc/sudoers.d
made_dir=0
f=$d/jibril-test-$$
cleanup() {
	rm -f "$f"
	if [ "$made_dir" = 1 ]; then rmdir "$d" 2>/dev/null || :; fi
}
trap cleanup EXIT
if [ ! -d "$d" ]; then mkdir -m 750 "$d"; made_dir=1; fi
( umask 0227; printf '# jibril trigger test: no rule, removed at once\n' > "$f" ) &
echo "pid $!"
wait $!
