#!/bin/bash
# trigger: a perl script forks and execs /usr/bin/true directly (no shell in between)
set -eu
trap 'rm -f "$JB_TMP/spawn.pl"' EXIT
cat >"$JB_TMP/spawn.pl" <<'PERL'
$| = 1;
my $pid = fork();
die "fork: $!" unless defined $pid;
if ($pid == 0) { exec("/usr/bin/true") or exit(127); }
print "pid $pid\n";
waitpid($pid, 0);
exit($? >> 8);
PERL
perl "$JB_TMP/spawn.pl"
