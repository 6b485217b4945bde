#!/bin/bash
# trigger: perl -e with the program on the command line
set -eu
perl -e 'my $x = 1 + 1;' &
echo "pid $!"
wait $!
