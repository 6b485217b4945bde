#!/bin/bash
# trigger: bash -c 'bash -i < /dev/null >& /dev/null': an interactive shell wired to local files only
set -eu
HISTFILE=/dev/null bash -c "bash --norc --noprofile -i < /dev/null >& /dev/null" &
echo "pid $!"
wait $!
