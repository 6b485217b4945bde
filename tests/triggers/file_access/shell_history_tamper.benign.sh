#!/bin/bash
# trigger: a subshell appends a line to the .bash_history of a stand-in home under the test directory (what bash does when it saves its history)
# No cleanup here: removing the file would be the very act the recipe
# reports; the harness removes $JB_TMP.
set -eu
h=$JB_TMP/home
mkdir -p "$h"
(printf 'ls\n' >>"$h/.bash_history") &
echo "pid $!"
wait $!
