#!/bin/bash
# trigger: a python3 script reads one byte of a sleeping child's writable memory through /proc/<pid>/mem (open 'rb', seek, read: the T1003.007 dump loop); a perl script when there is no python3
set -eu
sleep 30 &
t=$!
trap 'kill $t 2>/dev/null || :; wait $t 2>/dev/null || :; rm -f "$JB_TMP/dump.py" "$JB_TMP/dump.pl"' EXIT
want=$(readlink -f "$(command -v sleep)")
for _ in $(seq 250); do
	[ "$(readlink /proc/$t/exe 2>/dev/null)" = "$want" ] && break
	sleep 0.02
done
[ "$(readlink /proc/$t/exe)" = "$want" ] || { echo "sleep did not start" >&2; exit 1; }
if [ -x /usr/bin/python3 ]; then
	cat >"$JB_TMP/dump.py" <<'PY'
import sys
pid = sys.argv[1]
with open("/proc/%s/maps" % pid) as m:
    start = next(int(l.split("-")[0], 16) for l in m if l.split()[1].startswith("rw"))
with open("/proc/%s/mem" % pid, "rb") as mem:
    mem.seek(start)
    if len(mem.read(1)) != 1:
        sys.exit("short read")
PY
	/usr/bin/python3 "$JB_TMP/dump.py" "$t" &
else
	cat >"$JB_TMP/dump.pl" <<'PL'
my $pid = $ARGV[0];
open(my $m, "<", "/proc/$pid/maps") or die "maps: $!";
my $start;
while (<$m>) { if ((split)[1] =~ /^rw/) { ($start) = /^([0-9a-f]+)-/; last } }
open(my $f, "<", "/proc/$pid/mem") or die "mem: $!";
sysseek($f, hex($start), 0) or die "seek: $!";
sysread($f, my $b, 1) == 1 or die "read: $!";
PL
	perl "$JB_TMP/dump.pl" "$t" &
fi
echo "pid $!"
wait $!
