#!/bin/bash
# trigger: perl dlopen()s a library named libjava.so and only reads (no load) one named libinstrument.so
set -eu
tmp=${JB_TMP:-$PWD}
libc=$(awk '$NF ~ /\/libc\.so\.6$/ { print $NF; exit }' /proc/self/maps)
stub=$(dirname "$libc")/libdl.so.2
[ -f "$stub" ] || { echo "no $stub to load" >&2; exit 77; }
trap 'rm -f "$tmp/libjava.so" "$tmp/libinstrument.so" "$tmp/load.pl"' EXIT
cp "$stub" "$tmp/libjava.so"
cp "$stub" "$tmp/libinstrument.so"
cat > "$tmp/load.pl" <<'PERL'
use strict;
use DynaLoader;
my ($load, $read) = @ARGV;
DynaLoader::dl_load_file($load, 0) or die "dlopen $load: " . DynaLoader::dl_error() . "\n";
open(my $fh, '<', $read) or die "$read: $!\n";
my $n = read($fh, my $buf, 64);
die "read $read: $!\n" unless defined $n;
PERL
perl "$tmp/load.pl" "$tmp/libjava.so" "$tmp/libinstrument.so" &
echo "pid $!"
wait $!
