#!/bin/bash
# trigger: a python3 script (perl when there is none) reads a sleeping child's /proc/<pid>/maps, the memory map a dumper reads first, and no memory
set -eu
sleep 30 &
t=$!
trap 'kill $t 2>/dev/null || :; wait $t 2>/dev/null || :; rm -f "$JB_TMP/maps.py" "$JB_TMP/maps.pl"' EXIT
if [ -x /usr/bin/python3 ]; then
	printf '%s\n' 'import sys' 'with open("/proc/%s/maps" % sys.argv[1]) as m:' '    m.read()' >"$JB_TMP/maps.py"
	/usr/bin/python3 "$JB_TMP/maps.py" "$t" &
else
	# shellcheck disable=SC2016 # perl code
	printf '%s\n' 'open(my $m, "<", "/proc/$ARGV[0]/maps") or die "maps: $!"; my @l = <$m>;' >"$JB_TMP/maps.pl"
	perl "$JB_TMP/maps.pl" "$t" &
fi
echo "pid $!"
wait $!
