#!/bin/bash
# trigger: perl dlopen()s a library named libjdwp.so (a copy of glibc's empty libdl stub), as a JVM loads its JDWP agent
set -eu
tmp=${JB_TMP:-$PWD}
libc=$(awk '$NF ~ /\/libc\.so\.6$/ { print $NF; exit }' /proc/self/maps)
stub=$(dirname "$libc")/libdl.so.2
[ -f "$stub" ] || { echo "no $stub to load" >&2; exit 77; }
trap 'rm -f "$tmp/libjdwp.so" "$tmp/load.pl"' EXIT
cp "$stub" "$tmp/libjdwp.so"
cat > "$tmp/load.pl" <<'PERL'
use strict;
use DynaLoader;
for my $lib (@ARGV) {
	DynaLoader::dl_load_file($lib, 0) or die "dlopen $lib: " . DynaLoader::dl_error() . "\n";
}
PERL
perl "$tmp/load.pl" "$tmp/libjdwp.so" &
echo "pid $!"
wait $!
