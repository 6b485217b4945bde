#!/bin/bash
# trigger: a perl script forks and execs /bin/sh -c ':' (a shell whose parent is perl)
set -eu
trap 'rm -f "$JB_TMP/spawn.pl"' EXIT
cat >"$JB_TMP/spawn.pl" <<'PERL'
$| = 1;
my $pid = fork();
die "fork: $!" unless defined $pid;
if ($pid == 0) { exec("/bin/sh", "-c", ":") or exit(127); }
print "pid $pid\n";
waitpid($pid, 0);
exit($? >> 8);
PERL
perl "$JB_TMP/spawn.pl"
