#!/bin/bash
# trigger: od dumps nothing (stdin /dev/null): a dump tool, not an encoder
set -eu
od -An -tx1 </dev/null >/dev/null &
echo "pid $!"
wait $!
