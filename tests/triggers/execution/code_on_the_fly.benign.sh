#!/bin/bash
# trigger: perl runs the same program from a file in the trigger directory
set -eu
trap 'rm -f "$JB_TMP/prog.pl"' EXIT
# shellcheck disable=SC2016 # expanded by the inner shell
printf '%s\n' 'my $x = 1 + 1;' >"$JB_TMP/prog.pl"
perl "$JB_TMP/prog.pl" &
echo "pid $!"
wait $!
