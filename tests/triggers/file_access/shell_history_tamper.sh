#!/bin/bash
# trigger: ln -sf /dev/null replaces the .bash_history of a stand-in home directory the test made (history redirected to /dev/null)
# The home is the test's own (under $JB_TMP): the recipe matches a history
# file wherever the home directory is, so no real account is touched.
set -eu
h=$JB_TMP/home
mkdir -p "$h"
printf 'ls\n' >>"$h/.bash_history"
ln -sf /dev/null "$h/.bash_history" &
echo "pid $!"
wait $!
